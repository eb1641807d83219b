// The error log's two line formats, written to a file as the master and the workers write them.
#include <unistd.h>

#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "core/log.hpp"

namespace log = prefork::log;
using namespace std::string_literals;

namespace {

// A log file for one test case; the log goes back to stderr, text, info afterwards.
struct LogFile {
  std::string path;
  LogFile() {
    char pattern[] = "/tmp/prefork-log-XXXXXX";
    int fd = mkstemp(pattern);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = pattern;
    REQUIRE(log::open(path));
  }
  ~LogFile() {
    log::open("-");
    log::set_format(log::Format::text);
    log::set_level(log::Level::info);
    ::unlink(path.c_str());
  }
  std::string text() const {
    std::ifstream in(path);
    std::stringstream whole;
    whole << in.rdbuf();
    return whole.str();
  }
};

const std::string pid = std::to_string(getpid());
const std::string rfc3339 = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)";

}  // namespace

TEST_CASE("log formats by name") {
  log::Format format = log::Format::text;
  CHECK(log::parse_format("json", format));
  CHECK(format == log::Format::json);
  CHECK(log::parse_format("text", format));
  CHECK(format == log::Format::text);
  CHECK_FALSE(log::parse_format("JSON", format));
  CHECK_FALSE(log::parse_format("", format));
}

TEST_CASE("text: gunicorn's line") {
  LogFile file;
  log::info("Booting worker with pid: ", 42);
  CHECK(std::regex_match(file.text(),
                         std::regex(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[)" + pid +
                                    R"(\] \[INFO\] Booting worker with pid: 42\n)")));
}

TEST_CASE("json: one object a line, with gunicorn's level names in lower case") {
  LogFile file;
  log::set_format(log::Format::json);
  log::set_level(log::Level::debug);
  log::debug("d");
  log::info("Listening at: http://127.0.0.1:8000 (", 7, ")");
  log::warning("w");
  log::error("e");
  log::critical("c");
  std::string expected;
  for (const auto& [level, message] : {std::pair{"debug"s, "d"s},
                                       {"info", "Listening at: http://127.0.0.1:8000 (7)"},
                                       {"warning", "w"},
                                       {"error", "e"},
                                       {"critical", "c"}}) {
    expected += R"(\{"time":")" + rfc3339 + R"(","level":")" + level +
                R"(","logger":"prefork\.error","pid":)" + pid + R"(,"message":")" +
                std::regex_replace(message, std::regex(R"([.()])"), R"(\$&)") + "\"\\}\n";
  }
  CHECK(std::regex_match(file.text(), std::regex(expected)));
}

TEST_CASE("json: a message cannot break its line or forge fields") {
  LogFile file;
  log::set_format(log::Format::json);
  log::error("bad header \"x\\y\"\n{\"level\":\"critical\"}\r\0\xff"s);
  std::string text = file.text();
  REQUIRE(!text.empty());
  CHECK(text.find('\n') == text.size() - 1);
  CHECK(text.find(R"(,"message":"bad header \"x\\y\"\n{\"level\":\"critical\"}\r\u0000\ufffd"})") !=
        std::string::npos);
}

TEST_CASE("the level threshold applies in both formats") {
  LogFile file;
  log::set_format(log::Format::json);
  log::set_level(log::Level::warning);
  log::info("quiet");
  log::warning("loud");
  std::string text = file.text();
  CHECK(text.find("quiet") == std::string::npos);
  CHECK(text.find(R"("level":"warning")") != std::string::npos);
}
