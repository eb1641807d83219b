// The access log: gunicorn's line format written by the workers, "-" for stdout, reopened on
// USR1, and a bad path refused at startup.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

// The line of the file containing text, once it is there (workers write at the end of their
// loop iteration, possibly just after the client has its answer).
std::optional<std::string> wait_for_logged(const std::string& path, std::string_view text) {
  std::optional<std::string> found;
  eventually([&] {
    std::istringstream lines(read_whole(path));
    for (std::string line; std::getline(lines, line);) {
      if (line.find(text) != std::string::npos) {
        found = line;
        return true;
      }
    }
    return false;
  });
  return found;
}

// True when the process holds a descriptor open on path (under that name: a moved file shows
// its new name).
bool has_open(pid_t pid, const std::string& path) {
  for (const auto& [fd, target] : fd_targets(pid)) {
    if (target == path) return true;
  }
  return false;
}

// A small pattern language for log lines: '#' is one or more digits, '*' any run of characters
// other than '"', everything else is literal.
bool matches(std::string_view text, std::string_view pattern) {
  if (pattern.empty()) return text.empty();
  char head = pattern.front();
  if (head == '*') {
    for (std::size_t taken = 0;; ++taken) {
      if (matches(text.substr(taken), pattern.substr(1))) return true;
      if (taken == text.size() || text[taken] == '"') return false;
    }
  }
  if (head == '#') {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    for (std::size_t taken = digits; taken > 0; --taken) {
      if (matches(text.substr(taken), pattern.substr(1))) return true;
    }
    return false;
  }
  return !text.empty() && text.front() == head && matches(text.substr(1), pattern.substr(1));
}

bool is_default_line(std::string_view line) {
  return matches(line, R"(127.0.0.1 - - [#/*/#:#:#:# *#] "*" # * "*" "*")");
}

}  // namespace

TEST_CASE("each answered request gets a line in gunicorn's default format") {
  TempDir directory;
  std::string path = directory.file("access.log");
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--access-logfile", path});
  int port = server.port();
  REQUIRE(port > 0);

  Reply hello = http_get_with_headers(
      port, "/?lang=en&x=1", "Referer: http://ref.example/page\r\nUser-Agent: e2e-agent/1.0\r\n");
  CHECK(hello.status == 200);
  CHECK(http_get(port, "/missing").status == 404);
  std::string bad = raw_exchange(port, "GET / HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n");
  CHECK(bad.compare(0, 12, "HTTP/1.1 400") == 0);

  auto found = wait_for_logged(path, "lang=en");
  REQUIRE(found);
  CHECK(is_default_line(*found));
  CHECK(found->find(R"("GET /?lang=en&x=1 HTTP/1.1" 200 13 "http://ref.example/page" )"
                    R"("e2e-agent/1.0")") != std::string::npos);

  found = wait_for_logged(path, "/missing");
  REQUIRE(found);
  CHECK(is_default_line(*found));
  CHECK(found->find(R"("GET /missing HTTP/1.1" 404 10 "-" "-")") != std::string::npos);

  // Rejected before it was parsed: no request line, but the status and the error body's size.
  found = wait_for_logged(path, "\"-\" 400 ");
  REQUIRE(found);
  CHECK(is_default_line(*found));
  std::size_t body = bad.size() - bad.find("\r\n\r\n") - 4;
  CHECK(found->find("\"-\" 400 " + std::to_string(body) + " \"-\" \"-\"") != std::string::npos);

  // The server answered each request before logging it, and a worker stays up after a 400.
  CHECK(http_get(port, "/").status == 200);
  CHECK(wait_for_logged(path, "\"GET / HTTP/1.1\" 200 13 \"-\" \"-\""));
}

TEST_CASE("a custom format with timing, pid, header and response header atoms") {
  TempDir directory;
  std::string path = directory.file("access.log");
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "1", "--access-logfile", path, "--access-logformat",
                 "%(p)s %(m)s %(U)s q=%(q)s %(H)s %(s)s %(B)s %({x-trace}i)s "
                 "%({content-type}o)s %(D)s %(L)s"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(1));
  pid_t worker = server.workers().front();

  CHECK(http_get_with_headers(port, "/sleep?ms=30", "X-Trace: t-42\r\n").status == 200);
  auto found = wait_for_logged(path, "/sleep");
  REQUIRE(found);
  CHECK(matches(*found,
                "<#> GET /sleep q=ms=30 HTTP/1.1 200 6 t-42 text/plain; charset=utf-8 # #.#"));
  int pid = 0;
  long micro = 0, seconds = 0, fraction = 0;
  REQUIRE(std::sscanf(found->c_str(), "<%d>", &pid) == 1);
  CHECK(pid == worker);
  std::string timing = found->substr(found->find("utf-8 ") + 6);
  REQUIRE(std::sscanf(timing.c_str(), "%ld %ld.%ld", &micro, &seconds, &fraction) == 3);
  CHECK(timing.size() - timing.find('.') - 1 == 6);
  CHECK(micro >= 30000);
  CHECK(seconds * 1000000 + fraction == micro);
}

TEST_CASE("\"-\" writes the access log to standard output") {
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1", "--access-logfile", "-"});
  int port = server.port();
  REQUIRE(port > 0);
  CHECK(http_get(port, "/to-stdout").status == 404);
  auto line = server.wait_for_line("\"GET /to-stdout HTTP/1.1\" 404 10");
  REQUIRE(line);
  CHECK(is_default_line(*line));
}

TEST_CASE("USR1 after the file was moved away: every worker writes to a new file at the path") {
  TempDir directory;
  std::string path = directory.file("access.log");
  std::string moved = directory.file("access.log.1");
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2", "--access-logfile", path,
                                 "--access-logformat", "%(p)s %(U)s"});
  int port = server.port();
  REQUIRE(port > 0);
  REQUIRE(server.wait_for_worker_count(2));
  std::vector<pid_t> workers = server.workers();
  CHECK(http_get(port, "/before").status == 404);
  REQUIRE(wait_for_logged(path, "/before"));

  REQUIRE(std::rename(path.c_str(), moved.c_str()) == 0);
  server.signal(SIGUSR1);
  for (pid_t worker : workers) {
    CHECK(eventually([&] { return has_open(worker, path) && !has_open(worker, moved); }));
  }
  for (int i = 0; i < 4; ++i) {
    CHECK(http_get(port, "/after-" + std::to_string(i)).status == 404);
  }
  for (int i = 0; i < 4; ++i) CHECK(wait_for_logged(path, "/after-" + std::to_string(i)));
  std::string old_file = read_whole(moved);
  CHECK(old_file.find("/before") != std::string::npos);
  CHECK(old_file.find("/after-") == std::string::npos);
  // The master does not hold the access log: only workers write it.
  CHECK_FALSE(has_open(server.pid(), path));
  CHECK(server.workers() == workers);
}

TEST_CASE("USR1 while new workers boot kills none of them") {
  TempDir directory;
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "-w", "4", "--access-logfile", directory.file("access.log")});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_lines("Booting worker", 4));
  // Each HUP forks four workers; the USR1s that follow reach them at every point of their boot.
  const int rounds = 5;
  for (int round = 1; round <= rounds; ++round) {
    server.signal(SIGHUP);
    for (int i = 0; i < 100; ++i) {
      server.signal(SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server.wait_for_lines("Booting worker", 4 * (round + 1)));
  }
  REQUIRE(server.wait_for_worker_count(4));
  CHECK(server.count_lines("was sent SIGUSR1") == 0);
  CHECK(server.count_lines("Booting worker") == 4 * (rounds + 1));
}

TEST_CASE("an access log path that cannot be opened stops the master with exit code 2") {
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "--access-logfile", "/nonexistent-prefork-dir/access.log"});
  CHECK(server.wait_exit() == 2);
  CHECK(
      server.wait_for_line("accesslog /nonexistent-prefork-dir/access.log: No such file or "
                           "directory",
                           2s));
  CHECK(server.count_lines("Booting worker") == 0);
}

TEST_CASE("a malformed access log format stops the master with exit code 2") {
  TempDir directory;
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "--access-logfile",
                                 directory.file("access.log"), "--access-logformat", "%(h)s %"});
  CHECK(server.wait_exit() == 2);
  CHECK(server.wait_for_line("access_log_format: at offset 6", 2s));
}
