#include <doctest/doctest.h>
#include <stdlib.h>

#include "master/inherited_fds.hpp"

using namespace prefork::master;

TEST_CASE("PREFORK_FDS: each listener's fd with its flags, and back") {
  std::vector<InheritedFd> fds = {{3, true, false, false},
                                  {4, false, false, false},
                                  {5, false, true, false},
                                  {6, false, false, true}};
  std::string text = encode_inherited_fds(fds);
  CHECK(text == "3:tls,4,5:reuseport,6:unlink");
  auto parsed = parse_inherited_fds(text);
  REQUIRE(parsed.ok());
  CHECK(*parsed == fds);
  CHECK(parse_inherited_fds("7:tls:reuseport")->front() == InheritedFd{7, true, true, false});
  CHECK(parse_inherited_fds("")->empty());
}

TEST_CASE("PREFORK_FDS: a malformed entry is an error naming it") {
  CHECK(parse_inherited_fds("3,x").message() == "PREFORK_FDS: \"x\": not a descriptor");
  CHECK(parse_inherited_fds("-1").message() == "PREFORK_FDS: \"-1\": not a descriptor");
  CHECK(parse_inherited_fds("3:tcp").message() == "PREFORK_FDS: unknown flag \"tcp\"");
}

TEST_CASE("the inheritance is taken out of the environment") {
  setenv("PREFORK_FDS", "3,5:reuseport", 1);
  setenv("PREFORK_MASTER_PID", "1234", 1);
  setenv("PREFORK_READY_FD", "7", 1);
  setenv("PREFORK_METRICS_FD", "8", 1);
  auto taken = take_inheritance();
  REQUIRE(taken.ok());
  CHECK(taken->from_upgrade());
  CHECK(taken->listeners.size() == 2);
  CHECK(taken->master_pid == 1234);
  CHECK(taken->ready_fd == 7);
  CHECK(taken->metrics_fd == 8);
  for (const char* name :
       {"PREFORK_FDS", "PREFORK_MASTER_PID", "PREFORK_READY_FD", "PREFORK_METRICS_FD"})
    CHECK(getenv(name) == nullptr);
  auto again = take_inheritance();
  REQUIRE(again.ok());
  CHECK_FALSE(again->from_upgrade());
}

TEST_CASE("PREFORK_FDS without a master pid is an error") {
  setenv("PREFORK_FDS", "3", 1);
  auto taken = take_inheritance();
  CHECK(taken.message() == "PREFORK_MASTER_PID: not set to a pid beside PREFORK_FDS");
  CHECK(getenv("PREFORK_FDS") == nullptr);
}
