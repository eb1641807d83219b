// Writes prefork(1) from its template: the lines @OPTIONS@, @SETTINGS@ and @ENVIRONMENT@ become
// the directive table's entries, @VERSION@ the version, @DATE@ the page's date and each @NAME@
// of a NAME=VALUE argument its value (the install's paths). Run by the build (doc/meson.build);
// a program of its own rather than a hidden flag of prefork, whose command line is all
// documented.
// Usage: man_page TEMPLATE OUTPUT COMMIT_TIME_FILE [NAME=VALUE]...
#include <prefork/version.hpp>

#include "config/directives.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using prefork::config::Directive;
using prefork::config::directives;

// Text as roff prints it: backslashes and hyphens escaped (a hyphen in a flag or a value must
// copy as an ASCII minus), and a leading dot or quote not taken for a request.
std::string roff(std::string_view text) {
  std::string out;
  if (!text.empty() && (text.front() == '.' || text.front() == '\'')) out += "\\&";
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

std::string bold(std::string_view text) {
  return "\\fB" + roff(text) + "\\fR";
}

std::string italic(std::string_view text) {
  return "\\fI" + roff(text) + "\\fR";
}

// "-w, --workers N" and the alias, as --help writes it.
std::string flag_head(const Directive& directive) {
  std::string argument = directive.metavar.empty() ? "" : " " + italic(directive.metavar);
  std::string head;
  if (directive.short_flag != 0) head += bold(std::string("-") + directive.short_flag) + ", ";
  head += bold("--" + std::string(directive.flag)) + argument;
  if (!directive.alias.empty()) head += ", " + bold("--" + std::string(directive.alias)) + argument;
  return head;
}

// The meaning, then where else the directive is set, then its default.
std::string body(const Directive& directive, bool with_key) {
  std::string text = roff(directive.meaning);
  if (directive.repeatable) text += " (repeatable)";
  text += ".";
  if (with_key && !directive.key.empty()) text += " Setting: " + bold(directive.key) + ".";
  if (!directive.env.empty()) text += " Environment: " + bold(directive.env) + ".";
  return text + "\nDefault: " + roff(prefork::config::default_text(directive)) + ".\n";
}

void write_options(std::ostream& out) {
  for (const Directive& directive : directives()) {
    if (directive.flag.empty()) continue;
    out << ".TP\n" << flag_head(directive) << "\n" << body(directive, true);
  }
}

// The settings no flag sets; those a flag sets are under OPTIONS.
void write_settings(std::ostream& out) {
  for (const Directive& directive : directives()) {
    if (directive.key.empty() || !directive.flag.empty()) continue;
    out << ".TP\n" << bold(directive.key) << "\n" << body(directive, false);
  }
}

void write_environment(std::ostream& out) {
  for (const Directive& directive : directives()) {
    if (directive.env.empty()) continue;
    out << ".TP\n" << bold(directive.env) << "\nThe setting " << bold(directive.key) << ".\n";
  }
}

void replace_all(std::string& line, std::string_view marker, std::string_view value) {
  for (std::size_t at = line.find(marker); at != std::string::npos;
       at = line.find(marker, at + value.size())) {
    line.replace(at, marker.size(), value);
  }
}

using Substitutions = std::vector<std::pair<std::string, std::string>>;

void expand(std::istream& in, std::ostream& out, const Substitutions& substitutions) {
  std::string line;
  while (std::getline(in, line)) {
    if (line == "@OPTIONS@") {
      write_options(out);
    } else if (line == "@SETTINGS@") {
      write_settings(out);
    } else if (line == "@ENVIRONMENT@") {
      write_environment(out);
    } else {
      for (const auto& [marker, value] : substitutions) replace_all(line, marker, value);
      out << line << "\n";
    }
  }
}

// Seconds since the epoch, as SOURCE_DATE_EPOCH and `git log --format=%ct` write them.
bool parse_time(const std::string& text, std::time_t& time) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  time = std::time_t(std::strtoll(text.c_str(), nullptr, 10));
  return true;
}

// The page's date, never the time of the build, so that a build gives the same page twice:
// SOURCE_DATE_EPOCH when the packager sets it (reproducible-builds.org), else the time of the
// last commit that doc/meson.build wrote to commit_time_file; "" when neither is known (a
// tarball), and the version alone dates the page.
std::string page_date(const char* commit_time_file) {
  const char* source_date_epoch = std::getenv("SOURCE_DATE_EPOCH");
  std::string text = source_date_epoch ? source_date_epoch : "";
  if (text.empty()) std::getline(std::ifstream(commit_time_file), text);
  std::time_t time = 0;
  std::tm utc{};
  char date[sizeof "YYYY-MM-DD"];
  if (!parse_time(text, time) || !gmtime_r(&time, &utc) ||
      std::strftime(date, sizeof date, "%Y-%m-%d", &utc) == 0) {
    return "";
  }
  return date;
}

// Each NAME=VALUE argument as the marker @NAME@ and the value in roff.
bool add_substitutions(std::span<char*> arguments, Substitutions& substitutions) {
  for (std::string_view argument : arguments) {
    std::size_t equals = argument.find('=');
    if (equals == std::string_view::npos) {
      std::fprintf(stderr, "man_page: expected NAME=VALUE, got %s\n", argument.data());
      return false;
    }
    substitutions.emplace_back("@" + std::string(argument.substr(0, equals)) + "@",
                               roff(argument.substr(equals + 1)));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: man_page TEMPLATE OUTPUT COMMIT_TIME_FILE [NAME=VALUE]...\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "man_page: cannot read %s\n", argv[1]);
    return 1;
  }
  Substitutions substitutions = {{"@VERSION@", std::string(prefork::version)},
                                 {"@DATE@", page_date(argv[3])}};
  if (!add_substitutions(std::span(argv + 4, argv + argc), substitutions)) return 2;
  std::ostringstream page;
  expand(in, page, substitutions);
  std::ofstream out(argv[2]);
  out << page.str();
  if (!out.flush()) {
    std::fprintf(stderr, "man_page: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
