#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "master/pidfile.hpp"

TEST_CASE("the pidfile holds the pid and is removed by its owner") {
  char pattern[] = "/tmp/prefork-pidfile-XXXXXX";
  std::string dir = mkdtemp(pattern);
  std::string path = dir + "/master.pid";
  {
    prefork::master::Pidfile pidfile;
    CHECK(pidfile.create(path).ok());
    std::ifstream file(path);
    pid_t written = 0;
    file >> written;
    CHECK(written == getpid());
  }
  struct stat info;
  CHECK(stat(path.c_str(), &info) != 0);
  rmdir(dir.c_str());
}

TEST_CASE("an unwritable pidfile is an error naming the path") {
  prefork::master::Pidfile pidfile;
  std::string error = pidfile.create("/nonexistent-dir/master.pid").message();
  CHECK(error.find("pidfile /nonexistent-dir/master.pid: ") == 0);
}

TEST_CASE("USR2 moves the pidfile aside and back; its owner removes it where it is") {
  char pattern[] = "/tmp/prefork-pidfile-XXXXXX";
  std::string dir = mkdtemp(pattern);
  std::string path = dir + "/master.pid";
  struct stat info;
  {
    prefork::master::Pidfile pidfile;
    REQUIRE(pidfile.create(path).ok());
    REQUIRE(pidfile.rename_to(path + ".oldbin").ok());
    CHECK(pidfile.path() == path + ".oldbin");
    CHECK(stat(path.c_str(), &info) != 0);
    CHECK(stat((path + ".oldbin").c_str(), &info) == 0);
    // The new master wrote its own meanwhile; taking it back replaces that.
    std::ofstream(path) << "99999\n";
    REQUIRE(pidfile.rename_to(path).ok());
    std::ifstream file(path);
    pid_t written = 0;
    file >> written;
    CHECK(written == getpid());
    REQUIRE(pidfile.rename_to(path + ".oldbin").ok());
  }
  CHECK(stat((path + ".oldbin").c_str(), &info) != 0);
  rmdir(dir.c_str());
}
