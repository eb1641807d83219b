// log_format = "json": the error log and the access log as a log shipper reads them, one JSON
// object a line, checked by Python's json module whatever the client sent; a HUP switches
// formats; text stays the default.
#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <string_view>

#include "harness.hpp"
#include "support/skip.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using namespace std::string_literals;

namespace {

// Metrics off: nothing here needs them, and the endpoint would bind 0.0.0.0:9092.
const std::string no_metrics = "[metrics]\nenabled = false\n";

const std::string access_keys =
    "time,level,logger,pid,message,remote_addr,request,method,path,query,protocol,status,"
    "body_bytes,referer,user_agent,request_time_us";
const std::string error_keys = "time,level,logger,pid,message";

// tests/e2e/json_lines.py on path: each line's object, canonical (sorted keys, ASCII escapes),
// one a line. Fails the test when a line is not one JSON object holding keys.
std::string canonical_lines(const std::string& path, const std::string& keys) {
  std::string output;
  int status = prefork::testing::run_command("python3 " + std::string(PREFORK_SOURCE_ROOT) +
                                                 "/tests/e2e/json_lines.py " + path + " " + keys,
                                             output);
  CHECK_MESSAGE(status == 0, output.substr(0, 2000));
  return output;
}

std::size_t count_of(const std::string& text, std::string_view part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

std::size_t line_count(const std::string& path) {
  return count_of(read_whole(path), "\n");
}

std::string request(std::string_view target, std::string_view headers) {
  return "GET "s.append(target) + " HTTP/1.1\r\nHost: h\r\n" + std::string(headers) +
         "Connection: close\r\n\r\n";
}

bool answered_with(const std::string& reply, std::string_view status) {
  return reply.compare(0, 12, "HTTP/1.1 " + std::string(status)) == 0;
}

void require_python() {
  std::string output;
  if (prefork::testing::run_command("python3 -c 'import json, datetime'", output) != 0)
    prefork::testing::skip_test("python3 is not installed");
}

}  // namespace

TEST_CASE("--log-format json: every line of both logs is one JSON object, whatever clients send") {
  require_python();
  TempDir directory;
  std::string access = directory.file("access.log");
  Server server(hello_binary(),
                {"-c", directory.write("prefork.toml", no_metrics), "-b", "127.0.0.1:0", "-w", "2",
                 "--log-format", "json", "--access-logfile", access});
  int port = server.serving_port(2);
  REQUIRE(port > 0);

  // Quotes, backslashes, a tab, bytes that are not UTF-8, a line separator, 8 KB of them.
  std::string hostile = "q\"\\\xff\xc3(\t end";
  std::string big, big_decoded;
  for (int i = 0; i < 1600; ++i) {
    big += "\"\\\xff}{";
    big_decoded += R"(\"\\\ufffd}{)";
  }
  CHECK(answered_with(
      raw_exchange(port, request("/a\"b?x=%22&y=\"z",
                                 "User-Agent: " + hostile + "\r\nReferer: \xe2\x80\xa8x\r\n")),
      "404"));
  CHECK(answered_with(raw_exchange(port, request("/big", "User-Agent: " + big + "\r\n")), "404"));
  // Refused before they are parsed: a DEL, a NUL and a CR in a header.
  CHECK(answered_with(raw_exchange(port, request("/del",
                                                 "User-Agent: a\x7f"
                                                 "b\r\n")),
                      "400"));
  CHECK(answered_with(raw_exchange(port, request("/nul", "User-Agent: a\0b\r\n"s)), "400"));
  CHECK(answered_with(raw_exchange(port, request("/cr", "User-Agent: a\rb\r\n")), "400"));
  CHECK(http_get(port, "/").status == 200);
  REQUIRE(eventually([&] { return line_count(access) == 6; }));

  std::string lines = canonical_lines(access, access_keys);
  CHECK(count_of(lines, "\n") == 6);
  CHECK(count_of(lines, R"("logger": "prefork.access")") == 6);
  CHECK(lines.find(R"("path": "/a\"b", "pid": )") != std::string::npos);
  CHECK(lines.find(R"("query": "x=%22&y=\"z", "referer": "\u2028x", )") != std::string::npos);
  CHECK(lines.find(R"("user_agent": "q\"\\\ufffd\ufffd(\t end")") != std::string::npos);
  CHECK(lines.find(R"("user_agent": ")" + big_decoded + "\"") != std::string::npos);
  CHECK(count_of(lines, R"("method": null, "path": null, "pid": )") == 3);
  CHECK(count_of(lines, R"("status": 400)") == 3);
  CHECK(lines.find(R"("request": "GET / HTTP/1.1", "request_time_us": )") != std::string::npos);

  std::string error_log = directory.write("error.log", server.log());
  lines = canonical_lines(error_log, error_keys);
  CHECK(count_of(lines, R"("logger": "prefork.error", "message": "Booting worker with pid: )") ==
        2);
  CHECK(count_of(lines, "\n") == count_of(server.log(), "\n"));
}

TEST_CASE("json: an error message with a newline in it stays on its line") {
  require_python();
  TempDir directory;
  Server server(hello_binary(), {"-c", directory.write("prefork.toml", no_metrics), "-b",
                                 "127.0.0.1:0", "--log-format", "json", "--access-logfile",
                                 "/nonexistent-prefork-dir/a\n{\"forged\":1}"});
  CHECK(server.wait_exit() == 2);
  std::string lines = canonical_lines(directory.write("error.log", server.log()), error_keys);
  CHECK(count_of(lines, "\n") == 1);
  CHECK(lines.find(R"("level": "error", "logger": "prefork.error", "message": "accesslog )"
                   R"(/nonexistent-prefork-dir/a\n{\"forged\":1}: No such file or directory")") !=
        std::string::npos);
}

TEST_CASE("text is the default, and a HUP switches the master and the new workers to json") {
  require_python();
  TempDir directory;
  std::string access = directory.file("access.log");
  std::string config = directory.write("prefork.toml", no_metrics);
  Server server(hello_binary(),
                {"-c", config, "-b", "127.0.0.1:0", "-w", "1", "--access-logfile", access});
  int port = server.serving_port(1);
  REQUIRE(port > 0);
  CHECK(server.wait_for_line("] [INFO] Booting worker with pid: "));
  CHECK(http_get(port, "/before").status == 404);
  REQUIRE(eventually([&] { return line_count(access) == 1; }));
  CHECK(read_whole(access).find("\"GET /before HTTP/1.1\" 404 10 \"-\" \"-\"\n") !=
        std::string::npos);

  directory.write("prefork.toml", "log_format = \"json\"\n" + no_metrics);
  server.signal(SIGHUP);
  REQUIRE(server.wait_for_line(R"("message":"Booting worker with pid: )"));
  CHECK(server.wait_for_line(R"("level":"info","logger":"prefork.error")"));
  REQUIRE(server.wait_for_worker_count(1));
  CHECK(eventually([&] {
    return http_get(port, "/after").status == 404 && line_count(access) >= 2 &&
           read_whole(access).find(R"("path":"/after")") != std::string::npos;
  }));
  std::string lines = read_whole(access);
  std::string json_part = directory.write("json.log", lines.substr(lines.find('\n') + 1));
  CHECK(canonical_lines(json_part, access_keys).find(R"("path": "/after")") != std::string::npos);
}

TEST_CASE("an unknown log format is refused with the choices, exit code 2") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "--log-format", "xml"});
  CHECK(server.wait_exit() == 2);
  CHECK(server.wait_for_line(R"(--log-format: unknown log format "xml"; choices: text, json)", 2s));
}
