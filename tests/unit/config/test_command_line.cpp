// gunicorn-style flags, --help and --version.
#include "load_helpers.hpp"

#include <sstream>

#include "config/directives.hpp"

using namespace prefork::config;
using namespace prefork::config::testing;

TEST_CASE("every flag sets its setting, in both --opt value and --opt=value forms") {
  Config spaced = loaded({"-b",
                          "127.0.0.1:0",
                          "-w",
                          "3",
                          "-k",
                          "threads",
                          "--threads",
                          "4",
                          "-t",
                          "9",
                          "--graceful-timeout",
                          "8",
                          "--keep-alive",
                          "7",
                          "--max-requests",
                          "100",
                          "--max-requests-jitter",
                          "10",
                          "--backlog",
                          "64",
                          "--reuse-port",
                          "--preload",
                          "--app",
                          "lib/libx.so:x",
                          "-p",
                          "/tmp/p.pid",
                          "--log-level",
                          "debug",
                          "--error-logfile",
                          "/tmp/e.log",
                          "--access-logfile",
                          "-",
                          "--access-logformat",
                          "%(r)s",
                          "-n",
                          "web",
                          "--check-config"});
  Config equals = loaded({"--bind=127.0.0.1:0",
                          "--workers=3",
                          "--worker-class=threads",
                          "--threads=4",
                          "--timeout=9",
                          "--graceful-timeout=8",
                          "--keep-alive=7",
                          "--max-requests=100",
                          "--max-requests-jitter=10",
                          "--backlog=64",
                          "--reuse-port=true",
                          "--preload=yes",
                          "--app=lib/libx.so:x",
                          "--pid=/tmp/p.pid",
                          "--log-level=debug",
                          "--error-logfile=/tmp/e.log",
                          "--access-logfile=-",
                          "--access-logformat=%(r)s",
                          "--name=web",
                          "--check-config=1"});
  for (const Config& config : {spaced, equals}) {
    CHECK(config.binds.at(0).port == 0);
    CHECK(config.workers == 3);
    CHECK(config.worker_class == "threads");
    CHECK(config.threads == 4);
    CHECK(config.timeout == 9);
    CHECK(config.graceful_timeout == 8);
    CHECK(config.keepalive == 7);
    CHECK(config.max_requests == 100);
    CHECK(config.max_requests_jitter == 10);
    CHECK(config.backlog == 64);
    CHECK(config.reuse_port);
    CHECK(config.preload_app);
    CHECK(config.app == "lib/libx.so:x");
    CHECK(config.pidfile == "/tmp/p.pid");
    CHECK(config.loglevel == "debug");
    CHECK(config.errorlog == "/tmp/e.log");
    CHECK(config.accesslog == "-");
    CHECK(config.access_log_format == "%(r)s");
    CHECK(config.proc_name == "web");
    CHECK(config.check_only);
  }
}

TEST_CASE("short flags take attached values") {
  Config config = loaded({"-w5", "-b127.0.0.1:0"});
  CHECK(config.workers == 5);
  CHECK(config.binds.at(0).port == 0);
}

TEST_CASE("`prefork metrics` is --metrics-only; the word is a command only in first place") {
  CHECK(loaded({"metrics", "-w", "3"}).metrics_only);
  CHECK(loaded({"--metrics-only"}).metrics_only);
  CHECK_FALSE(loaded({"-w", "3"}).metrics_only);
  CHECK(error_of({"-w", "3", "metrics"})
            .starts_with("command line: unexpected argument \"metrics\""));
}

TEST_CASE("a switch can be turned off with =false, e.g. over the file") {
  TomlFile file("reuse_port = true\n");
  CHECK_FALSE(loaded({"-c", file.path(), "--reuse-port=false"}).reuse_port);
}

TEST_CASE("bad flags are usage errors with a hint") {
  const std::string hint = "\nTry 'prefork --help' for the list of options.";
  CHECK(error_of({"--wrokers", "2"}) == "command line: unknown option --wrokers" + hint);
  CHECK(error_of({"-x"}) == "command line: unknown option -x" + hint);
  CHECK(error_of({"--workers"}) == "command line: --workers: needs a value (N)" + hint);
  CHECK(error_of({"-c"}) == "command line: -c: needs a value (FILE)" + hint);
  CHECK(error_of({"app.so"}) == "command line: unexpected argument \"app.so\"" + hint);
  CHECK(error_of({"--preloadx"}) == "command line: unknown option --preloadx" + hint);
}

TEST_CASE("bad flag values name the flag") {
  CHECK(error_of({"-w", "two"}) == "command line: --workers: expected an integer, got \"two\"");
  CHECK(error_of({"-k", "gevent"}) ==
        "command line: --worker-class: unknown worker class \"gevent\"; choices: uv, threads");
  CHECK(error_of({"--timeout=-3"}) == "command line: --timeout: must not be negative, got -3");
  CHECK(error_of({"-b", "[::1]"}) ==
        "command line: --bind: expected HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N, got "
        "\"[::1]\"");
  CHECK(error_of({"--log-level", "loud"}) ==
        "command line: --log-level: unknown log level \"loud\"; choices: debug, info, warning, "
        "error, critical");
  CHECK(error_of({"--preload=perhaps"}) ==
        "command line: --preload: expected a boolean (true/false, 1/0, yes/no, on/off), got "
        "\"perhaps\"");
}

TEST_CASE("--version prints the version and exits 0") {
  for (const char* flag : {"-v", "--version"}) {
    LoadResult result = load_with({flag});
    CHECK_FALSE(result.config);
    CHECK(result.exit_code == 0);
    CHECK(result.message == "prefork 0.1.0\n");
  }
}

TEST_CASE("--help lists every flag and every environment variable, and exits 0") {
  for (const char* flag : {"-h", "--help"}) {
    LoadResult result = load_with({"-w", "2", flag});
    CHECK_FALSE(result.config);
    CHECK(result.exit_code == 0);
    CHECK(result.message.rfind("usage: prefork", 0) == 0);
    for (const Directive& directive : directives()) {
      CAPTURE(directive.key);
      if (!directive.flag.empty()) {
        CHECK(result.message.find("--" + std::string(directive.flag)) != std::string::npos);
      }
      if (directive.short_flag) {
        CHECK(result.message.find(std::string("-") + directive.short_flag + ", --") !=
              std::string::npos);
      }
      if (!directive.env.empty()) {
        CHECK(result.message.find(std::string(directive.env)) != std::string::npos);
      }
    }
    CHECK(result.message.find("-h, --help") != std::string::npos);
    CHECK(result.message.find("-v, --version") != std::string::npos);
  }
}

TEST_CASE("--help keeps every description apart from its flag, in one column") {
  std::string help = load_with({"--help"}).message;
  std::istringstream lines(help.substr(help.find("options:\n") + 9));
  std::string line;
  std::size_t column = 0;
  while (std::getline(lines, line) && !line.empty()) {
    CAPTURE(line);
    // "  -w, --workers N   description": the flag ends at the first run of two spaces.
    std::size_t gap = line.find("  ", line.find_first_not_of(' '));
    REQUIRE(gap != std::string::npos);
    std::size_t description = line.find_first_not_of(' ', gap);
    if (column == 0) column = description;
    CHECK(description == column);
  }
  CHECK(column > 0);
}

TEST_CASE("flags and short flags are unique across the directive table") {
  auto table = directives();
  for (std::size_t i = 0; i < table.size(); ++i) {
    for (std::size_t j = i + 1; j < table.size(); ++j) {
      CAPTURE(table[i].key);
      CAPTURE(table[j].key);
      if (!table[i].flag.empty()) CHECK(table[i].flag != table[j].flag);
      if (!table[i].alias.empty()) CHECK(table[i].alias != table[j].alias);
      if (!table[i].alias.empty()) CHECK(table[i].alias != table[j].flag);
      if (!table[j].alias.empty()) CHECK(table[j].alias != table[i].flag);
      if (table[i].short_flag) CHECK(table[i].short_flag != table[j].short_flag);
      if (!table[i].key.empty()) CHECK(table[i].key != table[j].key);
      if (!table[i].env.empty()) CHECK(table[i].env != table[j].env);
    }
    CHECK(table[i].short_flag != 'h');
    CHECK(table[i].short_flag != 'v');
  }
}

TEST_CASE("-m/--umask reads octal as gunicorn does: 022 and 0o22 are 18, so are 0x12 and 18") {
  for (const char* text : {"022", "0o22", "0O22", "0x12", "0X12", "0b10010", "18"}) {
    CAPTURE(text);
    CHECK(loaded({"-m", text}).umask == 18);
    CHECK(loaded({std::string("--umask=") + text}).umask == 18);
  }
  CHECK(loaded({"-m", "0"}).umask == 0);
  CHECK(loaded({"-m", "00"}).umask == 0);
  CHECK(loaded({"-m", "0777"}).umask == 0777);
  CHECK(error_of({"-m", "08"}) ==
        "command line: --umask: expected an integer (18, 0o22, 022 or 0x12), got \"08\"");
  CHECK(error_of({"-m", "0x"}) ==
        "command line: --umask: expected an integer (18, 0o22, 022 or 0x12), got \"0x\"");
  CHECK(error_of({"-m", "-1"}) ==
        "command line: --umask: expected an integer (18, 0o22, 022 or 0x12), got \"-1\"");
  CHECK(error_of({"-m", "01000"}) ==
        "command line: --umask: expected a permission mask 0o000..0o777 (write it in octal, e.g. "
        "0o022), got 512");
}

TEST_CASE("umask in the file: a TOML integer as TOML reads it, a string as the flag does") {
  TomlFile octal("umask = 0o022\n");
  CHECK(loaded({"-c", octal.path()}).umask == 18);
  TomlFile decimal("umask = 18\n");
  CHECK(loaded({"-c", decimal.path()}).umask == 18);
  TomlFile text("umask = \"022\"\n");
  CHECK(loaded({"-c", text.path()}).umask == 18);
  // The flag wins over the file, as every flag does.
  CHECK(loaded({"-c", octal.path(), "-m", "077"}).umask == 077);
}

TEST_CASE("--log-file is gunicorn's other name of --error-logfile; --help shows both") {
  CHECK(loaded({"--log-file", "/tmp/e.log"}).errorlog == "/tmp/e.log");
  CHECK(loaded({"--log-file=/tmp/f.log"}).errorlog == "/tmp/f.log");
  CHECK(
      error_of({"--log-file", ""}).starts_with("command line: --error-logfile: must not be empty"));
  std::string help = load_with({"--help"}).message;
  CHECK(help.find("--error-logfile FILE, --log-file FILE") != std::string::npos);
}

TEST_CASE("-e/--env KEY=VALUE adds up; the value may be empty or hold '='") {
  Config config = loaded({"-e", "A=1", "--env", "B=x=y", "-eC="});
  CHECK(config.raw_env == std::vector<std::string>{"A=1", "B=x=y", "C="});
  CHECK(loaded({}).raw_env.empty());
  TomlFile file("raw_env = [\"FOO=bar\", \"BAZ=\"]\n");
  CHECK(loaded({"-c", file.path()}).raw_env == std::vector<std::string>{"FOO=bar", "BAZ="});
  // The flags replace the file's list, as -b replaces bind.
  CHECK(loaded({"-c", file.path(), "-e", "X=1"}).raw_env == std::vector<std::string>{"X=1"});
}

TEST_CASE("-e without '=' or with an empty key is a configuration error naming the setting") {
  CHECK(error_of({"-e", "A=1", "-e", "FOO"}) ==
        "command line: --env: expected KEY=VALUE, got \"FOO\"");
  CHECK(error_of({"-e", "=bar"}) ==
        "command line: --env: expected KEY=VALUE, got \"=bar\": the key is empty");
  TomlFile file("workers = 2\nraw_env = [\"A=1\", \"B\"]\n");
  CHECK(error_of({"-c", file.path()}) == file.at(2) + "raw_env: expected KEY=VALUE, got \"B\"");
  TomlFile number("raw_env = [1]\n");
  CHECK(error_of({"-c", number.path()}) ==
        number.at(1) + "raw_env: expected an array of strings, got an array containing an integer");
}

TEST_CASE("-D/--daemon and daemon = true in the file") {
  CHECK(loaded({"-D"}).daemon);
  CHECK(loaded({"--daemon"}).daemon);
  CHECK_FALSE(loaded({}).daemon);
  TomlFile file("daemon = true\n");
  CHECK(loaded({"-c", file.path()}).daemon);
  CHECK_FALSE(loaded({"-c", file.path(), "--daemon=false"}).daemon);
}

TEST_CASE("--reload watches the app, and --reload-extra-file adds up; preload_app refuses it") {
  Config config = loaded({"--reload", "--reload-extra-file", "a.toml", "--reload-extra-file=b"});
  CHECK(config.reload);
  CHECK(config.reload_extra_files == std::vector<std::string>{"a.toml", "b"});
  TomlFile file("reload = true\nreload_extra_files = [\"x\"]\n");
  CHECK(loaded({"-c", file.path()}).reload_extra_files == std::vector<std::string>{"x"});
  CHECK(error_of({"--reload", "--preload"}) ==
        "reload and preload_app are both set: a preloaded app stays in the master, so new workers "
        "would run the old code; turn preload_app off (or use USR2)");
}
