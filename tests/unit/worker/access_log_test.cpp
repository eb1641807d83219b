// The access log: format compilation, every atom, escaping, and the file it writes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "worker/access_format.hpp"
#include "worker/access_log.hpp"

using prefork::Header;
using prefork::Request;
using prefork::worker::AccessFormat;
using prefork::worker::AccessLog;
using prefork::worker::RequestRecord;

namespace {

constexpr std::string_view stamp = "[10/Oct/2000:13:55:36 +0000]";

// A request as the server would hand it over, with the answer it got.
struct Sample {
  std::vector<Header> headers = {{"Host", "example.com"},
                                 {"Referer", "http://example.com/from"},
                                 {"User-Agent", "curl/7.88"},
                                 {"X-Trace", "abc"}};
  Request request;
  std::string answer =
      "HTTP/1.1 404 Not Found\r\nServer: prefork\r\nDate: today\r\nContent-Length: 10\r\n"
      "Content-Type: text/plain\r\nX-Cache:  hit\r\n\r\nNot Found\n";
  RequestRecord record;

  Sample() : request(fields(headers)) {
    record.status = 404;
    record.method = "GET";
    record.duration_seconds = 1.234567;
    record.request = &request;
    record.peer = "192.0.2.7:51234";
    record.answer = answer;
  }

  static Request::Fields fields(const std::vector<Header>& headers) {
    Request::Fields fields;
    fields.method = "GET";
    fields.target = "/shop/items?page=2&sort=asc";
    fields.path = "/shop/items";
    fields.query = "page=2&sort=asc";
    fields.peer = "192.0.2.7:51234";
    fields.headers = headers;
    return fields;
  }
};

std::string render(std::string_view format, const RequestRecord& record) {
  AccessFormat compiled;
  prefork::Status compiled_ok = compiled.compile(format);
  REQUIRE_MESSAGE(compiled_ok.ok(), compiled_ok.message());
  std::string line;
  compiled.append_line(line, record, stamp);
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  line.pop_back();
  return line;
}

std::string compile_error(std::string_view format) {
  AccessFormat compiled;
  prefork::Status compiled_ok = compiled.compile(format);
  CHECK_FALSE(compiled_ok.ok());
  return compiled_ok.message();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("gunicorn's default format") {
  Sample sample;
  CHECK(render(R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s")", sample.record) ==
        R"(192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET /shop/items?page=2&sort=asc HTTP/1.1" )"
        R"(404 10 "http://example.com/from" "curl/7.88")");
}

TEST_CASE("request atoms") {
  Sample sample;
  CHECK(render("%(m)s", sample.record) == "GET");
  CHECK(render("%(U)s", sample.record) == "/shop/items");
  CHECK(render("%(q)s", sample.record) == "page=2&sort=asc");
  CHECK(render("%(H)s", sample.record) == "HTTP/1.1");
  CHECK(render("%(r)s", sample.record) == "GET /shop/items?page=2&sort=asc HTTP/1.1");
  CHECK(render("%(f)s|%(a)s", sample.record) == "http://example.com/from|curl/7.88");
  CHECK(render("%({x-trace}i)s %({X-TRACE}i)s", sample.record) == "abc abc");
  CHECK(render("%({X-Missing}i)s", sample.record) == "-");
}

TEST_CASE("the protocol follows the request's version") {
  std::vector<Header> none;
  Request::Fields fields = Sample::fields(none);
  fields.http_minor = 0;
  Request request(fields);
  RequestRecord record;
  record.request = &request;
  CHECK(render("%(H)s", record) == "HTTP/1.0");
  CHECK(render("%(f)s %(a)s", record) == "- -");
}

TEST_CASE("response atoms: status, body sizes and the answer's headers") {
  Sample sample;
  CHECK(render("%(s)s", sample.record) == "404");
  CHECK(render("%(B)s %(b)s", sample.record) == "10 10");
  CHECK(render("%({content-type}o)s", sample.record) == "text/plain");
  CHECK(render("%({x-cache}o)s", sample.record) == "hit");
  CHECK(render("%({Date}o)s %({server}o)s", sample.record) == "today prefork");
  CHECK(render("%({x-absent}o)s", sample.record) == "-");
  // A header name that only appears in the body is not a header.
  std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nX-Body: 1";
  sample.record.answer = answer;
  CHECK(render("%({x-body}o)s", sample.record) == "-");
}

TEST_CASE("an empty body: B is 0, b is '-'") {
  Sample sample;
  std::string answer = "HTTP/1.1 204 No Content\r\nServer: prefork\r\n\r\n";
  sample.record.answer = answer;
  CHECK(render("%(B)s %(b)s", sample.record) == "0 -");
}

TEST_CASE("durations: T seconds, M milliseconds, D microseconds, L decimal seconds") {
  Sample sample;
  CHECK(render("%(T)s %(M)s %(D)s %(L)s", sample.record) == "1 1234 1234567 1.234567");
  sample.record.duration_seconds = 0.000123;
  CHECK(render("%(T)s %(M)s %(D)s %(L)s", sample.record) == "0 0 123 0.000123");
  sample.record.duration_seconds = 0;
  CHECK(render("%(L)s", sample.record) == "0.000000");
}

TEST_CASE("the remote address loses its port") {
  Sample sample;
  CHECK(render("%(h)s", sample.record) == "192.0.2.7");
  sample.record.peer = "[::1]:4000";
  CHECK(render("%(h)s", sample.record) == "::1");
  sample.record.peer = "/run/prefork.sock";
  CHECK(render("%(h)s", sample.record) == "/run/prefork.sock");
  sample.record.peer = "";
  CHECK(render("%(h)s", sample.record) == "-");
}

TEST_CASE("time, pid, environment, identity and unknown atoms") {
  Sample sample;
  CHECK(render("%(t)s", sample.record) == stamp);
  CHECK(render("%(p)s", sample.record) == "<" + std::to_string(getpid()) + ">");
  setenv("PREFORK_ACCESS_TEST", "blue", 1);
  unsetenv("PREFORK_ACCESS_UNSET");
  CHECK(render("%({PREFORK_ACCESS_TEST}e)s %({PREFORK_ACCESS_UNSET}e)s", sample.record) ==
        "blue -");
  CHECK(render("%(l)s %(u)s", sample.record) == "- -");
  CHECK(render("%(zz)s %(x)s %({thing}z)s", sample.record) == "- - -");
}

TEST_CASE("a request rejected before parsing prints '-' for what it does not have") {
  std::string answer =
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request";
  RequestRecord record;
  record.status = 400;
  record.peer = "127.0.0.1:9";
  record.answer = answer;
  CHECK(render(R"(%(h)s "%(r)s" %(m)s %(U)s %(q)s %(H)s %(s)s %(b)s "%(f)s" "%(a)s" %({x}i)s)",
               record) == R"(127.0.0.1 "-" - - - - 400 11 "-" "-" -)");
}

TEST_CASE("literal text, percent signs and nested parentheses") {
  Sample sample;
  CHECK(render("100%% [%(s)s] done", sample.record) == "100% [404] done");
  CHECK(render("no atoms at all", sample.record) == "no atoms at all");
  CHECK(render("%({a(b)c}i)s", sample.record) == "-");
  AccessFormat compiled;
  REQUIRE(compiled.compile("a %(s)s b %% c %(m)s").ok());
  // Adjacent literal pieces become one part.
  REQUIRE(compiled.parts().size() == 4);
  CHECK(compiled.parts()[0].text == "a ");
  CHECK(compiled.parts()[1].atom == AccessFormat::Atom::status);
  CHECK(compiled.parts()[2].text == " b % c ");
  CHECK(compiled.parts()[3].atom == AccessFormat::Atom::method);
}

TEST_CASE("malformed formats are refused with the offset") {
  CHECK(compile_error("abc %") ==
        "access_log_format: at offset 4: '%' ends the format (write %% for a percent sign)");
  CHECK(compile_error("%s") == "access_log_format: at offset 0: expected %(name)s or %%");
  CHECK(compile_error("x %(h") == "access_log_format: at offset 2: unterminated %(");
  CHECK(compile_error("%(h)d") == "access_log_format: at offset 0: expected 's' after %(h)");
  CHECK(compile_error("%(h)") == "access_log_format: at offset 0: expected 's' after %(h)");
}

TEST_CASE("values cannot break the line or its quotes") {
  std::vector<Header> headers = {{"User-Agent", "evil\nforged line\r\t\x7f"},
                                 {"Referer", "say \"hi\" \\o/"}};
  Request request(Sample::fields(headers));
  RequestRecord record;
  record.request = &request;
  std::string line = render(R"("%(a)s" "%(f)s")", record);
  CHECK(line == R"("evil\x0aforged line\x0d\x09\x7f" "say \"hi\" \\o/")");
  CHECK(line.find('\n') == std::string::npos);
  // Bytes above ASCII (UTF-8) pass unchanged.
  std::vector<Header> utf8 = {{"User-Agent", "caf\xc3\xa9"}};
  Request accented(Sample::fields(utf8));
  record.request = &accented;
  CHECK(render("%(a)s", record) == "caf\xc3\xa9");
}

TEST_CASE("the timestamp is local time in gunicorn's layout") {
  std::string text = prefork::worker::format_timestamp(971186136);
  REQUIRE(text.size() == stamp.size());
  CHECK(text.front() == '[');
  CHECK(text.back() == ']');
  CHECK(text.substr(4, 9) == "Oct/2000:");
  setenv("TZ", "UTC", 1);
  tzset();
  CHECK(prefork::worker::format_timestamp(971186136) == stamp);
  unsetenv("TZ");
  tzset();
}

// ---- the file --------------------------------------------------------------------------------

namespace {

struct LogDirectory {
  std::string path;
  LogDirectory() {
    char pattern[] = "/tmp/prefork-access-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~LogDirectory() {
    for (const char* name : {"/access.log", "/access.log.1"}) ::unlink((path + name).c_str());
    ::rmdir(path.c_str());
  }
};

struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
};

prefork::config::Config file_config(const std::string& path, std::string format = "%(s)s %(U)s") {
  prefork::config::Config config;
  config.accesslog = path;
  config.access_log_format = std::move(format);
  return config;
}

}  // namespace

TEST_CASE("off when no path is configured") {
  Loop loop;
  prefork::config::Config config;
  CHECK(AccessLog::start(config, &loop.loop) == nullptr);
  CHECK(prefork::worker::check_access_log(config).ok());
}

TEST_CASE("lines are written once per loop iteration, and on destruction") {
  LogDirectory directory;
  std::string path = directory.path + "/access.log";
  Loop loop;
  Sample sample;
  // A due timer makes the loop run one iteration without blocking; the check handle runs at its
  // end.
  uv_timer_t timer;
  uv_timer_init(&loop.loop, &timer);
  {
    std::unique_ptr<AccessLog> log = AccessLog::start(file_config(path), &loop.loop);
    REQUIRE(log);
    log->on_request(sample.record);
    CHECK(read_file(path).empty());
    uv_timer_start(
        &timer, [](uv_timer_t*) {}, 0, 0);
    uv_run(&loop.loop, UV_RUN_ONCE);
    CHECK(read_file(path) == "404 /shop/items\n");
    log->on_request(sample.record);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  CHECK(read_file(path) == "404 /shop/items\n404 /shop/items\n");
}

TEST_CASE("a large batch is written before the iteration ends") {
  LogDirectory directory;
  std::string path = directory.path + "/access.log";
  Loop loop;
  Sample sample;
  std::unique_ptr<AccessLog> log = AccessLog::start(file_config(path), &loop.loop);
  REQUIRE(log);
  std::size_t line = std::string("404 /shop/items\n").size();
  for (std::size_t written = 0; written < 17 * 1024; written += line)
    log->on_request(sample.record);
  CHECK(read_file(path).size() >= 16 * 1024);
}

TEST_CASE("reopen: after the file is moved away, lines go to a new file at the path") {
  LogDirectory directory;
  std::string path = directory.path + "/access.log";
  Loop loop;
  Sample sample;
  std::unique_ptr<AccessLog> log = AccessLog::start(file_config(path), &loop.loop);
  REQUIRE(log);
  log->on_request(sample.record);
  REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
  log->reopen();
  sample.record.status = 200;
  log->on_request(sample.record);
  log->flush();
  CHECK(read_file(path + ".1") == "404 /shop/items\n");
  CHECK(read_file(path) == "200 /shop/items\n");
}

TEST_CASE("a bad path or format is refused with a clear message") {
  Loop loop;
  std::string missing_directory = "/nonexistent-prefork-dir/access.log";
  CHECK(prefork::worker::check_access_log(file_config(missing_directory)).message() ==
        "accesslog /nonexistent-prefork-dir/access.log: No such file or directory");
  CHECK_THROWS_WITH(AccessLog::start(file_config(missing_directory), &loop.loop),
                    "accesslog /nonexistent-prefork-dir/access.log: No such file or directory");
  LogDirectory directory;
  CHECK(prefork::worker::check_access_log(file_config(directory.path + "/access.log", "%(h)d"))
            .message() == "access_log_format: at offset 0: expected 's' after %(h)");
  CHECK(prefork::worker::check_access_log(file_config("-")).ok());
}
