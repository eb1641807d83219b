// The command-line layer, gunicorn-style: "--opt value", "--opt=value", "-o value", "-ovalue".
#include "config/layers.hpp"

#include <prefork/version.hpp>

#include <algorithm>
#include <sstream>

namespace prefork::config {
namespace {

constexpr const char* usage_hint = "\nTry 'prefork --help' for the list of options.";

struct Parser {
  Parser(int count, const char* const* arguments) : argc(count), argv(arguments) {}

  int argc;
  const char* const* argv;
  int index = 1;
  CommandLine result;

  bool failed() const { return !result.usage.ok(); }
  void fail(std::string message) {
    result.usage = Status::error("command line: " + message + usage_hint);
  }

  void add(const Directive& directive, std::string value) {
    if (&directive == find_by_flag("config")) result.config_file = value;
    if (directive.repeatable) {
      for (CommandLine::Setting& setting : result.settings) {
        if (setting.directive == &directive) {
          setting.input.items.push_back(Input::text(std::move(value)));
          return;
        }
      }
      Input list;
      list.type = Input::Type::array;
      list.items.push_back(Input::text(std::move(value)));
      result.settings.push_back({&directive, std::move(list)});
      return;
    }
    result.settings.push_back({&directive, Input::text(std::move(value))});
  }

  // attached: the value written in the same argument ("--workers=4", "-w4"), if any.
  void take(const Directive& directive, const std::string& spelled, const char* attached) {
    if (directive.metavar.empty()) return add(directive, attached ? attached : "true");
    if (attached) return add(directive, attached);
    if (index + 1 >= argc) {
      return fail(spelled + ": needs a value (" + std::string(directive.metavar) + ")");
    }
    add(directive, argv[++index]);
  }

  void parse_long(const std::string& argument) {
    std::string name = argument.substr(2);
    const char* attached = nullptr;
    auto equals = name.find('=');
    if (equals != std::string::npos) {
      attached = argv[index] + 2 + equals + 1;
      name = name.substr(0, equals);
    }
    if (name == "help") return void(result.request = CommandLine::Request::help);
    if (name == "version") return void(result.request = CommandLine::Request::version);
    const Directive* directive = find_by_flag(name);
    if (!directive) return fail("unknown option --" + name);
    take(*directive, "--" + name, attached);
  }

  void parse_short(const std::string& argument) {
    char letter = argument[1];
    if (letter == 'h') return void(result.request = CommandLine::Request::help);
    if (letter == 'v') return void(result.request = CommandLine::Request::version);
    const Directive* directive = find_by_short_flag(letter);
    if (!directive) return fail("unknown option " + argument.substr(0, 2));
    const char* attached = argument.size() > 2 ? argv[index] + 2 : nullptr;
    if (attached && directive->metavar.empty()) return fail("unknown option " + argument);
    take(*directive, "-" + std::string(1, letter), attached);
  }

  CommandLine run() {
    for (; index < argc && !failed() && result.request == CommandLine::Request::run; ++index) {
      std::string argument = argv[index];
      if (argument.size() > 2 && argument.rfind("--", 0) == 0) {
        parse_long(argument);
      } else if (argument.size() >= 2 && argument[0] == '-' && argument[1] != '-') {
        parse_short(argument);
      } else if (index == 1 && argument == "metrics") {
        add(*find_by_flag("metrics-only"), "true");
      } else {
        fail("unexpected argument \"" + argument + "\"");
      }
    }
    return std::move(result);
  }
};

std::string flag_column(const Directive& directive) {
  std::string text = directive.short_flag ? std::string("-") + directive.short_flag + ", " : "    ";
  std::string argument = directive.metavar.empty() ? "" : " " + std::string(directive.metavar);
  text += "--" + std::string(directive.flag) + argument;
  if (!directive.alias.empty()) text += ", --" + std::string(directive.alias) + argument;
  return text;
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  return Parser(argc, argv).run();
}

void apply_command_line(const CommandLine& command_line, Config& config,
                        std::vector<std::string>& errors) {
  for (const CommandLine::Setting& setting : command_line.settings) {
    if (Status status = setting.directive->apply(config, setting.input); !status.ok()) {
      errors.push_back("command line: --" + std::string(setting.directive->flag) + ": " +
                       status.message());
    }
  }
}

// One line per option; the description column starts after the widest flag, so that no flag
// runs into its description.
std::string help_text() {
  std::size_t width = std::string_view("-v, --version").size();
  for (const Directive& directive : directives()) {
    if (!directive.flag.empty()) width = std::max(width, flag_column(directive).size());
  }
  auto line = [&](std::ostringstream& text, std::string_view left, std::string_view right) {
    text << "  " << left << std::string(left.size() < width ? width - left.size() : 0, ' ') << "  "
         << right;
  };
  std::ostringstream text;
  text << "usage: prefork [-c FILE] [OPTIONS]\n"
          "       prefork metrics [-c FILE] [OPTIONS]   (only /metrics and /health, no workers)\n\n"
          "A prefork HTTP server: a master process supervising worker processes.\n"
          "Settings come from the command line, then the environment, then the TOML file.\n\n"
          "options:\n";
  for (const Directive& directive : directives()) {
    if (directive.flag.empty()) continue;
    line(text, flag_column(directive), directive.meaning);
    if (directive.repeatable) text << " (repeatable)";
    text << " [default: " << default_text(directive) << "]\n";
  }
  line(text, "-v, --version", "print the version and exit\n");
  line(text, "-h, --help", "show this help and exit\n");
  text << "\nenvironment:\n";
  for (const Directive& directive : directives()) {
    if (directive.env.empty()) continue;
    line(text, directive.env, "same as " + std::string(directive.key) + "\n");
  }
  return text.str();
}

}  // namespace prefork::config
