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
