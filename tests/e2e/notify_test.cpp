// systemd notifications: the test is systemd's end of NOTIFY_SOCKET and checks each datagram
// and who sent it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>

#include "harness.hpp"

using namespace prefork::e2e;

namespace {

std::string abstract_name() {
  static int count = 0;
  return "@prefork-test-" + std::to_string(getpid()) + "-" + std::to_string(++count);
}

// The messages that arrive within window.
std::vector<NotifyMessage> collect(NotifySocket& notify, std::chrono::milliseconds window) {
  std::vector<NotifyMessage> messages;
  auto deadline = Clock::now() + window;
  for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (auto message = notify.next(left)) messages.push_back(*message);
  }
  return messages;
}

long count_with(const std::vector<NotifyMessage>& messages, std::string_view line) {
  return std::count_if(messages.begin(), messages.end(),
                       [&](const NotifyMessage& message) { return message.has(line); });
}

bool all_from(const std::vector<NotifyMessage>& messages, pid_t pid) {
  return std::all_of(messages.begin(), messages.end(),
                     [&](const NotifyMessage& message) { return message.pid == pid; });
}

}  // namespace

TEST_CASE("READY=1 comes from the master once its workers have booted, with their number") {
  TempDir dir;
  std::string config = dir.write("prefork.toml", "workers = 3\n[app]\nboot_delay_ms = 1500\n");
  NotifySocket notify(dir.file("notify.sock"));
  auto started = Clock::now();
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0"}, {notify.env()});
  std::optional<NotifyMessage> ready = notify.wait_for("READY=1", 20s);
  REQUIRE(ready.has_value());
  // Not before the app has loaded: forking the workers is not enough.
  CHECK(Clock::now() - started >= 1500ms);
  CHECK(ready->pid == server.pid());
  CHECK(ready->value("STATUS") == "3 workers");
  CHECK(server.workers().size() == 3);
  CHECK(server.wait_for_lines("Booting worker", 3, 2s));
  CHECK(all_from(notify.received(), server.pid()));
  CHECK(http_get(server.port(), "/").status == 200);

  // A worker more: the count in STATUS follows.
  server.signal(SIGTTIN);
  std::optional<NotifyMessage> status = notify.wait_for("STATUS=4 workers");
  REQUIRE(status.has_value());
  CHECK(status->pid == server.pid());
  CHECK_FALSE(status->has("READY=1"));
}

TEST_CASE("workers that fail to boot: no READY=1, and STOPPING=1 as the master stops") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  std::string path = dir.write("plugin.toml", "workers = 2\n");
  Server server(
      prefork_binary(),
      {"-c", path, "-b", "127.0.0.1:0", "--app", built_path("GREETING_MODULE") + ":greeting"},
      {notify.env()});
  std::optional<NotifyMessage> stopping = notify.wait_for("STOPPING=1", 20s);
  REQUIRE(stopping.has_value());
  CHECK(stopping->pid == server.pid());
  CHECK(server.wait_exit(20s) == 3);
  CHECK(count_with(notify.received(), "READY=1") == 0);
}

TEST_CASE("HUP: RELOADING=1 with the time it began, then READY=1 once the new workers serve") {
  TempDir dir;
  std::string config = dir.write("prefork.toml", "workers = 2\n[app]\nboot_delay_ms = 1000\n");
  NotifySocket notify(dir.file("notify.sock"));
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0"}, {notify.env()});
  REQUIRE(notify.wait_for("READY=1", 20s).has_value());

  // systemd reads its clock, then sends HUP, and requires MONOTONIC_USEC not to be earlier.
  std::uint64_t before = monotonic_usec();
  server.signal(SIGHUP);
  std::optional<NotifyMessage> reloading = notify.wait_for("RELOADING=1");
  std::uint64_t after = monotonic_usec();
  REQUIRE(reloading.has_value());
  CHECK(reloading->pid == server.pid());
  std::optional<std::string> usec = reloading->value("MONOTONIC_USEC");
  REQUIRE(usec.has_value());
  CHECK(std::stoull(*usec) >= before);
  CHECK(std::stoull(*usec) <= after);

  std::optional<NotifyMessage> ready = notify.wait_for("READY=1", 20s);
  REQUIRE(ready.has_value());
  // Not before the new workers have loaded the app.
  CHECK(monotonic_usec() - before >= 1000000);
  CHECK(ready->pid == server.pid());
  CHECK(ready->value("STATUS") == "2 workers");
  CHECK(server.wait_for_lines("Booting worker", 4, 2s));

  // A refused reload: READY=1 at once, with the reason in STATUS.
  dir.write("prefork.toml", "workers = 2\nno_such_setting = 1\n");
  server.signal(SIGHUP);
  REQUIRE(notify.wait_for("RELOADING=1").has_value());
  std::optional<NotifyMessage> refused = notify.wait_for("READY=1");
  REQUIRE(refused.has_value());
  std::optional<std::string> status = refused->value("STATUS");
  REQUIRE(status.has_value());
  CHECK(status->find("reload failed: ") == 0);
  CHECK(status->find("no_such_setting") != std::string::npos);
  CHECK(all_from(notify.received(), server.pid()));
}

TEST_CASE("TERM: STOPPING=1 from the master, which then exits") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"}, {notify.env()});
  REQUIRE(notify.wait_for("READY=1", 20s).has_value());
  server.signal(SIGTERM);
  std::optional<NotifyMessage> stopping = notify.wait_for("STOPPING=1");
  REQUIRE(stopping.has_value());
  CHECK(stopping->pid == server.pid());
  CHECK(server.wait_exit(20s) == 0);
  CHECK(count_with(notify.received(), "STOPPING=1") == 1);
}

TEST_CASE("WATCHDOG_USEC: WATCHDOG=1 from the master every half period") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1"},
                {notify.env(), "WATCHDOG_USEC=200000"});
  REQUIRE(notify.wait_for("READY=1", 20s).has_value());
  std::vector<NotifyMessage> second = collect(notify, 1s);
  MESSAGE("WATCHDOG=1 in one second: ", count_with(second, "WATCHDOG=1"));
  CHECK(count_with(second, "WATCHDOG=1") >= 4);
  CHECK(all_from(second, server.pid()));
}

TEST_CASE("WATCHDOG_PID naming another process: no WATCHDOG=1") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "1"},
                {notify.env(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"});
  REQUIRE(notify.wait_for("READY=1", 20s).has_value());
  // Five periods of silence: there is no message to wait for instead.
  std::vector<NotifyMessage> second = collect(notify, 1s);
  CHECK(count_with(second, "WATCHDOG=1") == 0);
}

TEST_CASE("an abstract NOTIFY_SOCKET (@name) hears READY=1") {
  NotifySocket notify(abstract_name());
  Server server(hello_binary(), {"-b", "127.0.0.1:0", "-w", "2"}, {notify.env()});
  std::optional<NotifyMessage> ready = notify.wait_for("READY=1", 20s);
  REQUIRE(ready.has_value());
  CHECK(ready->pid == server.pid());
  CHECK(ready->value("STATUS") == "2 workers");
}

TEST_CASE("workers inherit neither NOTIFY_SOCKET nor the watchdog's variables") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  // One worker: every request below asks the same process.
  std::string config = dir.write("prefork.toml", "[app]\nexpose_env = true\n");
  Server server(hello_binary(), {"-c", config, "-b", "127.0.0.1:0", "-w", "1"},
                {notify.env(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1", "PREFORK_TEST_MARK=kept"});
  REQUIRE(notify.wait_for("READY=1", 20s).has_value());
  int port = server.port();
  // The worker's environment as the app sees it. Not /proc/PID/environ: that is the memory the
  // process title has overwritten, blank whatever getenv() finds.
  CHECK(http_get(port, "/env?name=PREFORK_TEST_MARK").body == "kept");
  for (std::string name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) {
    CAPTURE(name);
    CHECK(http_get(port, "/env?name=" + name).status == 404);
  }
}
