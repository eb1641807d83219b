// scripts/install-deps lists the packages the files come from: with --build, those a build and
// install of prefork read (what deploy/Dockerfile installs) and nothing only the tests use; by
// default, the tests' too, among them the one holding the units' ExecReload program. Files are
// traced to their package with dpkg: skipped (exit 77) where there is none.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "support/skip.hpp"
#include "support/tools.hpp"

using prefork::testing::run_command;

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string word; in >> word;) found.push_back(word);
  return found;
}

std::vector<std::string> listed(const std::string& options) {
  std::string output;
  REQUIRE(run_command(PREFORK_SOURCE_ROOT "/scripts/install-deps " + options, output) == 0);
  return words(output);
}

bool holds(const std::vector<std::string>& list, const std::string& package) {
  return std::find(list.begin(), list.end(), package) != list.end();
}

std::string first_line(const std::string& command) {
  std::string output;
  REQUIRE(run_command(command, output) == 0);
  return output.substr(0, output.find('\n'));
}

// The package that installed path, as `dpkg -S` names it ("libuv1-dev:amd64: /usr/…").
std::string package_of(const std::string& path) {
  std::string line = first_line("dpkg -S " + path);
  return line.substr(0, line.find_first_of(":,"));
}

void require_dpkg() {
  std::string output;
  if (run_command("command -v dpkg", output) != 0)
    prefork::testing::skip_test("dpkg not found: packages are Debian's");
}

}  // namespace

TEST_CASE("--build lists the package of every file a build reads, and no test tool") {
  require_dpkg();
  const std::vector<std::string> build = listed("--build --list");
  // meson.build's dependencies (prefork.pc requires the same), toml11, llhttp's sources, and the
  // compiler and build tools. pkg-config is left out: bookworm's is a transitional package.
  std::vector<std::string> files = {"/usr/include/toml.hpp", "/usr/share/include/llhttp"};
  for (const char* module : {"libuv", "hiredis", "prometheus-cpp-core", "openssl", "zlib"}) {
    files.push_back(first_line(std::string("pkg-config --path ") + module));
  }
  for (const char* program : {"g++", "meson", "ninja"}) {
    files.push_back(first_line(std::string("command -v ") + program));
  }
  for (const std::string& file : files) {
    std::string package = package_of(file);
    INFO(file, " comes from ", package);
    CHECK(holds(build, package));
  }
  for (const char* test_only : {"doctest-dev", "redis-server", "haproxy", "clang", "systemd"}) {
    INFO(test_only);
    CHECK_FALSE(holds(build, test_only));
  }
}

TEST_CASE("the default list holds --build's, /bin/kill's package, and --bench adds to it") {
  require_dpkg();
  const std::vector<std::string> build = listed("--build --list");
  const std::vector<std::string> tests = listed("--list");
  const std::vector<std::string> bench = listed("--bench --list");
  for (const std::string& package : build) CHECK(holds(tests, package));
  for (const std::string& package : tests) CHECK(holds(bench, package));
  CHECK(holds(tests, "doctest-dev"));
  CHECK(holds(bench, "wrk"));
  // ExecReload=/bin/kill: systemd-analyze verify fails when the program is missing.
  CHECK(holds(tests, package_of("/bin/kill")));
}

TEST_CASE("an unknown option is refused with the usage") {
  std::string output;
  CHECK(run_command(PREFORK_SOURCE_ROOT "/scripts/install-deps --everything", output) == 2);
  CHECK(output.find("usage:") != std::string::npos);
}
