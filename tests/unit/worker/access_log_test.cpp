// The access log: format compilation, every atom, escaping, JSON lines, and the file it writes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
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
using namespace std::string_view_literals;

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

// ---- JSON lines -----------------------------------------------------------------------------

namespace {

constexpr std::string_view json_time = "2000-10-10T13:55:36.123+00:00";

std::string render_json(std::string_view format, const RequestRecord& record,
                        std::string_view message = "the line") {
  AccessFormat compiled;
  prefork::Status compiled_ok = compiled.compile(format);
  REQUIRE_MESSAGE(compiled_ok.ok(), compiled_ok.message());
  std::string line;
  compiled.append_json(line, record, json_time, message);
  REQUIRE(!line.empty());
  CHECK(line.find('\n') == line.size() - 1);
  line.pop_back();
  return line;
}

std::string json_head(std::string_view message = "the line") {
  return R"({"time":"2000-10-10T13:55:36.123+00:00","level":"info","logger":"prefork.access",)"
         R"("pid":)" +
         std::to_string(getpid()) + R"(,"message":")" + std::string(message) + "\",";
}

}  // namespace

TEST_CASE("json: every atom by name, whatever the format holds") {
  Sample sample;
  std::string all =
      json_head() +
      R"("remote_addr":"192.0.2.7","request":"GET /shop/items?page=2&sort=asc HTTP/1.1",)"
      R"("method":"GET","path":"/shop/items","query":"page=2&sort=asc",)"
      R"("protocol":"HTTP/1.1","status":404,"body_bytes":10,)"
      R"("referer":"http://example.com/from","user_agent":"curl/7.88",)"
      R"("request_time_us":1234567})";
  CHECK(render_json("%(s)s", sample.record) == all);
  CHECK(render_json("no atoms", sample.record) == all);
  CHECK(render_json(R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(p)s %(zz)s)", sample.record) ==
        all);
}

TEST_CASE("json: the message is the text line, escaped again") {
  Sample sample;
  CHECK(
      render_json("%(s)s", sample.record, R"(x "y" \x0a)").find(R"(,"message":"x \"y\" \\x0a",)") !=
      std::string::npos);
}

TEST_CASE("json: a request rejected before parsing has nulls, not dashes") {
  std::string answer =
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request";
  RequestRecord record;
  record.status = 400;
  record.answer = answer;
  CHECK(render_json("%({x-trace}i)s", record) ==
        json_head() +
            R"("remote_addr":null,"request":null,"method":null,"path":null,"query":null,)"
            R"("protocol":null,"status":400,"body_bytes":11,"referer":null,"user_agent":null,)"
            R"("request_time_us":0,"request_headers":{"x-trace":null}})");
}

TEST_CASE("json: header and environment atoms in objects of their own, each name once") {
  Sample sample;
  setenv("PREFORK_ACCESS_TEST", "blue", 1);
  unsetenv("PREFORK_ACCESS_UNSET");
  std::string line = render_json(
      "%({X-Trace}i)s %({x-missing}i)s %({x-trace}i)s %({content-type}o)s "
      "%({x-cache}o)s %({PREFORK_ACCESS_TEST}e)s %({PREFORK_ACCESS_UNSET}e)s",
      sample.record);
  CHECK(line.ends_with(
      R"("request_time_us":1234567,"request_headers":{"x-trace":"abc","x-missing":null},)"
      R"("response_headers":{"content-type":"text/plain","x-cache":"hit"},)"
      R"("environment":{"PREFORK_ACCESS_TEST":"blue","PREFORK_ACCESS_UNSET":null}})"));
  // Text lines print the same atoms as before.
  CHECK(render("%({PREFORK_ACCESS_TEST}e)s %({x-trace}i)s", sample.record) == "blue abc");
}

TEST_CASE("json: client values cannot break the line or forge fields") {
  std::string big(8192, 'A');
  big += "\xff";
  std::vector<Header> headers = {{"User-Agent", "evil\n{\"status\":200}\r\t\x7f\0end"sv},
                                 {"Referer", "say \"hi\" \\o/ caf\xc3\xa9 \xc3(\xed\xa0\x80"},
                                 {"X-Big", big}};
  Request::Fields fields = Sample::fields(headers);
  fields.target = "/\"}\n?q=\xe2\x80\xa8";
  fields.method = "G\"T";
  Request request(fields);
  RequestRecord record;
  record.request = &request;
  record.peer = "[::1]:4000";
  std::string line = render_json("%({x-big}i)s", record);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find(R"("user_agent":"evil\n{\"status\":200}\r\t\u007f\u0000end")") !=
        std::string::npos);
  CHECK(line.find(R"("referer":"say \"hi\" \\o/ caf)"
                  "\xc3\xa9"
                  R"( \ufffd(\ufffd\ufffd\ufffd")") != std::string::npos);
  CHECK(line.find(R"("request":"G\"T /\"}\n?q=\u2028 HTTP/1.1")") != std::string::npos);
  CHECK(line.find(R"("remote_addr":"::1")") != std::string::npos);
  CHECK(line.find(R"({"x-big":")" + std::string(8192, 'A') + R"(\ufffd"})") != std::string::npos);
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

prefork::config::Config file_config(const std::string& path, std::string format = "%(s)s %(U)s",
                                    std::string log_format = "text") {
  prefork::config::Config config;
  config.accesslog = path;
  config.access_log_format = std::move(format);
  config.log_format = std::move(log_format);
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

TEST_CASE("log_format json: one object per request in the file, its message the text line") {
  LogDirectory directory;
  std::string path = directory.path + "/access.log";
  Loop loop;
  Sample sample;
  {
    std::unique_ptr<AccessLog> log =
        AccessLog::start(file_config(path, "%(s)s %(U)s", "json"), &loop.loop);
    REQUIRE(log);
    log->on_request(sample.record);
    sample.record.status = 200;
    log->on_request(sample.record);
  }
  std::string text = read_file(path);
  std::string object = R"(\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d",)"
                       R"("level":"info","logger":"prefork\.access","pid":)" +
                       std::to_string(getpid()) +
                       R"(,"message":"\d+ /shop/items",)"
                       R"("remote_addr":"192\.0\.2\.7",.*,"status":\d+,.*\}\n)";
  CHECK_MESSAGE(std::regex_match(text, std::regex(object + object)), text);
  CHECK(text.find(R"("message":"404 /shop/items")") < text.find(R"("status":404,)"));
  CHECK(text.find(R"("message":"404 /shop/items")") < text.find(R"("message":"200 /shop/items")"));
}
