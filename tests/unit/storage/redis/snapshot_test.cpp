// RedisStorageDict::snapshot keeps its read plan between scrapes: these tests change the sets
// between snapshots and check that every change shows, against a real redis-server.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <utility>

#include "fixture.hpp"
#include "metrics/md5.hpp"
#include "storage/redis/collector.hpp"

using namespace prefork::storage;
using prefork::metrics::GaugeMode;
using prefork::metrics::ProcessValues;
using prefork::testing::RedisServer;
using namespace redis_test;

namespace {

// (process, JSON key) -> (value, timestamp)
using Flat = std::map<std::pair<std::string, std::string>, std::pair<double, double>>;

Flat flat(const std::vector<ProcessValues>& snapshot) {
  Flat out;
  for (const ProcessValues& group : snapshot) {
    for (const auto& stored : group.values) {
      out[{group.process, stored.key}] = {stored.value, stored.timestamp};
    }
  }
  return out;
}

long long calls_of(RedisStorageClient& client, const std::string& command) {
  std::string info = text_of(client, {"INFO", "commandstats"});
  std::string field = "cmdstat_" + command + ":calls=";
  std::size_t at = info.find(field);
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + field.size()));
}

}  // namespace

TEST_CASE("a snapshot shows every change of values, series and processes between scrapes") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::string a = key_of("a_total", "a_total"), b = key_of("b_total", "b_total");
  std::string recent = key_of("recent", "recent");
  dict.update(
      {{counter(), "1", {{a, 1, 0}}}, {gauge(GaugeMode::mostrecent), "1", {{recent, 5, 100}}}});

  Flat first = flat(dict.snapshot());
  CHECK(first == Flat{{{"1", a}, {1, 0}}, {{"1", recent}, {5, 100}}});

  dict.update(
      {{counter(), "1", {{a, 2, 0}}}, {gauge(GaugeMode::mostrecent), "1", {{recent, 6, 200}}}});
  CHECK(flat(dict.snapshot()) == Flat{{{"1", a}, {2, 0}}, {{"1", recent}, {6, 200}}});

  dict.update({{counter(), "1", {{b, 3, 0}}}, {counter(), "2", {{a, 4, 0}}}});
  CHECK(
      flat(dict.snapshot()) ==
      Flat{{{"1", a}, {2, 0}}, {{"1", b}, {3, 0}}, {{"1", recent}, {6, 200}}, {{"2", a}, {4, 0}}});

  CHECK(dict.erase({counter(), "1", a}));
  // A value that expired while its process set still names it is left out.
  auto check = inspector(server);
  check->command({"DEL", dict.layout().metric("counter", "1", prefork::metrics::md5_hex(b))});
  Flat last = flat(dict.snapshot());
  CHECK(last == Flat{{{"1", recent}, {6, 200}}, {{"2", a}, {4, 0}}});

  RedisStorageDict fresh(client, "test", 60);
  CHECK(flat(fresh.snapshot()) == last);
}

TEST_CASE("original keys are read once; later scrapes read values only, with the same output") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::vector<ProcessValues> batch;
  for (std::string process : {"10", "11", "12"}) {
    batch.push_back({counter(), process, {{key_of("c", "c_total", {{"p", "x"}}), 1, 0}}});
    batch.push_back({{prefork::metrics::Type::histogram, {}},
                     process,
                     {{key_of("h", "h_sum"), 0.5, 0},
                      {key_of("h", "h_bucket", {{"le", "1.0"}}), 1, 0},
                      {key_of("h", "h_bucket", {{"le", "+Inf"}}), 1, 0}}});
    batch.push_back({gauge(GaugeMode::all), process, {{key_of("g", "g"), 7, 0}}});
    batch.push_back({gauge(GaugeMode::mostrecent),
                     process,
                     {{key_of("m", "m"), std::stod(process), std::stod(process)}}});
  }
  dict.update(batch);
  RedisMultiProcessCollector collector(dict);
  auto check = inspector(server);

  check->command({"CONFIG", "RESETSTAT"});
  std::string first = collector.render();
  // 18 values, 15 of them by HGET value, and 18 original_key reads.
  CHECK(calls_of(*check, "hget") == 15 + 18);
  CHECK(calls_of(*check, "hmget") == 3);

  check->command({"CONFIG", "RESETSTAT"});
  std::string second = collector.render();
  CHECK(calls_of(*check, "hget") == 15);
  CHECK(calls_of(*check, "hmget") == 3);
  CHECK(second == first);
  // Planned with every key known, the snapshot comes in the collector's order already.
  std::vector<ProcessValues> planned = dict.snapshot();
  CHECK(std::is_sorted(planned.begin(), planned.end(), [](const auto& left, const auto& right) {
    return std::pair(left.process, left.kind.token()) <
           std::pair(right.process, right.kind.token());
  }));
  for (const ProcessValues& group : planned) {
    CHECK(std::is_sorted(group.values.begin(), group.values.end(),
                         [](const auto& left, const auto& right) { return left.key < right.key; }));
  }

  RedisStorageDict fresh(client, "test", 60);
  CHECK(RedisMultiProcessCollector(fresh).render() == first);
  CHECK(first.find("m 12.0\n") != std::string::npos);
  CHECK(first.find("h_count 6.0\n") != std::string::npos);
}

TEST_CASE("later snapshots check the process sets by their sizes, not their members") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::string a = key_of("a_total", "a_total"), b = key_of("b_total", "b_total");
  dict.update({{counter(), "1", {{a, 1, 0}}}, {counter(), "2", {{b, 2, 0}}}});
  dict.snapshot();  // reads the original keys, so its plan is not kept
  dict.snapshot();
  auto check = inspector(server);
  check->command({"CONFIG", "RESETSTAT"});
  dict.update({{counter(), "2", {{a, 3, 0}}}});  // a new member: process 2's set grows
  CHECK(flat(dict.snapshot()) == Flat{{{"1", a}, {1, 0}}, {{"2", a}, {3, 0}}, {{"2", b}, {2, 0}}});
  CHECK(flat(dict.snapshot()) == Flat{{{"1", a}, {1, 0}}, {{"2", a}, {3, 0}}, {{"2", b}, {2, 0}}});
  // Each snapshot: the index by SMEMBERS, both sets by SCARD; the first also read the members
  // of both sets, since the size of one no longer fitted its plan.
  CHECK(calls_of(*check, "scard") == 2 + 2);
  CHECK(calls_of(*check, "smembers") == (1 + 2) + 1);
}

TEST_CASE("a plan fits sets of its sizes until members_recheck; then their members decide") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  dict.update({{counter(), "1", {{key_of("a", "a_total"), 1, 0}}}});
  const std::vector<std::string> processes = {"1"};
  auto read = [&](const char* command) {
    return client.pipeline({{command, dict.layout().process("1")}});
  };
  auto start = SnapshotPlan::Clock::now();
  SnapshotPlan plan;
  OriginalKeys known;
  plan.build(dict.layout(), processes, read("SMEMBERS"), known, start);
  CHECK(plan.fits(processes, read("SCARD"), start + std::chrono::seconds(9)));
  CHECK_FALSE(plan.fits({"2"}, read("SCARD"), start));
  CHECK_FALSE(plan.fits(processes, read("SCARD"), start + SnapshotPlan::members_recheck));

  // One member gone, another come: the size cannot tell, the members can.
  std::vector<Reply> before = read("SMEMBERS");
  client.pipeline(
      {{"SREM", dict.layout().process("1"), std::string(reply_text(before[0]->element[0]))},
       {"SADD", dict.layout().process("1"), "counter:0123"}});
  CHECK(plan.fits(processes, read("SCARD"), start + std::chrono::seconds(1)));
  auto later = start + SnapshotPlan::members_recheck;
  CHECK_FALSE(plan.matches(processes, read("SMEMBERS"), later));
  CHECK(plan.matches(processes, before, later));
  CHECK(plan.fits(processes, read("SCARD"), later + std::chrono::seconds(9)));
}

TEST_CASE("a cleanup while a snapshot reads starts it over: the dead worker shows once, archived") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::string a = key_of("a_total", "a_total");
  dict.update({{counter(), "1", {{a, 1, 0}}}, {counter(), "2", {{a, 2, 0}}}});
  dict.snapshot();
  dict.snapshot();  // planned: the next snapshot only checks sizes

  RedisStorageClient master(endpoint_of(server));
  RedisStorageDict other(master, "test", 60);
  int reads_of_index = 0;
  // The filter runs between the read of the (watched) index and the reads of the sets.
  auto keep = [&](std::string_view) {
    if (reads_of_index++ == 0) other.cleanup_dead_worker("2");
    return true;
  };
  Flat seen = flat(dict.snapshot(keep));
  CHECK(seen == Flat{{{"1", a}, {1, 0}}, {{"archive", a}, {2, 0}}});
  CHECK(reads_of_index > 2);  // the first attempt's two processes, then the retry's
}

TEST_CASE("the JSON keys of series no longer stored are forgotten") {
  RedisServer server;
  RedisStorageClient client(endpoint_of(server));
  RedisStorageDict dict(client, "test", 60);
  std::string a = key_of("a_total", "a_total"), b = key_of("b_total", "b_total");
  dict.update({{counter(), "1", {{a, 1, 0}}}, {counter(), "2", {{b, 2, 0}}}});
  dict.snapshot();
  CHECK(dict.known_keys() == 2);
  CHECK(dict.erase({counter(), "2", b}));
  CHECK(flat(dict.snapshot()) == Flat{{{"1", a}, {1, 0}}});
  CHECK(dict.known_keys() == 1);
}
