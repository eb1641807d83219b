// meson install, then only what it installed: the files are where an operator and a packager
// look for them, and an app outside the source tree builds with pkg-config alone, as a .so
// loaded by the installed prefork and as a server of its own, and both serve.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "../e2e/harness.hpp"
#include "../e2e/metrics_support.hpp"
#include "support/text.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::run_command;
using prefork::testing::split;
namespace fs = std::filesystem;

namespace {

// `meson install --destdir` of this build into a new directory, removed with everything in it.
class InstallTree {
 public:
  InstallTree()
      : root_(directory_.path()),
        status_(run_command(built_path("MESON") + " install --no-rebuild -C " +
                                built_path("BUILD_ROOT") + " --destdir " + root_.string(),
                            output_)) {}

  bool installed() const { return status_ == 0; }
  const std::string& output() const { return output_; }
  // Where an absolute install path (the prefix's) landed.
  fs::path operator[](const std::string& path) const { return root_.string() + path; }
  // A scratch directory beside the installed tree, outside the source tree.
  fs::path work_dir() const {
    fs::path dir = root_ / "work";
    fs::create_directories(dir);
    return dir;
  }
  // pkg-config reading only the installed prefork.pc, its prefix moved into the tree.
  std::string pkg_config(const std::string& arguments) const {
    return "PKG_CONFIG_PATH=" + (*this)[built_path("PKG_CONFIG_DIR")].string() +
           " pkg-config --define-variable=prefix=" +
           (*this)[built_path("INSTALL_PREFIX")].string() + " " + arguments + " prefork";
  }

 private:
  TempDir directory_;
  fs::path root_;
  std::string output_;
  int status_;
};

// Copies a source of tests/install/ (or of another directory of the source tree) into a work
// directory and compiles it there, flags after the source (libraries follow what uses them);
// returns the output path, or "" when the compiler failed (its output goes to the test's log).
std::string compile(const InstallTree& tree, const std::string& source, const std::string& output,
                    const std::string& flags, const std::string& from = "tests/install") {
  const fs::path dir = tree.work_dir();
  fs::copy_file(fs::path(PREFORK_SOURCE_ROOT) / from / source, dir / source,
                fs::copy_options::overwrite_existing);
  std::string log;
  const std::string command = "cd " + dir.string() + " && " + built_path("CXX") +
                              " -std=c++20 -Wall -Wextra -Werror -o " + output + " " + source +
                              " " + flags;
  const int status = run_command(command, log);
  INFO(command);
  INFO(log);
  CHECK(status == 0);
  return status == 0 ? (dir / output).string() : std::string();
}

// A sanitized build's library needs the same runtime in the program it is linked into.
std::string sanitize_flags() {
  const char* flags = std::getenv("SANITIZE_FLAGS");
  return flags ? flags : "";
}

// The metrics endpoint on a free loopback port.
std::vector<std::string> server_env() {
  return {"PROMETHEUS_BIND_ADDRESS=127.0.0.1", "PROMETHEUS_METRICS_PORT=0"};
}

}  // namespace

TEST_CASE("meson install puts each piece where it is looked for") {
  InstallTree tree;
  INFO(tree.output());
  REQUIRE(tree.installed());
  for (const std::string& path : split(built_path("INSTALLED_FILES"), ":")) {
    INFO(path);
    CHECK(fs::is_regular_file(tree[path]));
  }
  // Every public header, as the source tree has them.
  for (const fs::directory_entry& header :
       fs::directory_iterator(fs::path(PREFORK_SOURCE_ROOT) / "include/prefork")) {
    INFO(header.path());
    CHECK(fs::is_regular_file(tree[built_path("HEADER_DIR")] / header.path().filename()));
  }
  // Every unit of deploy/systemd, as systemd finds it under the prefix.
  const fs::path units = fs::path(PREFORK_SOURCE_ROOT) / "deploy/systemd";
  if (fs::is_directory(units)) {
    for (const fs::directory_entry& unit : fs::directory_iterator(units)) {
      const fs::path name =
          unit.path().extension() == ".in" ? unit.path().stem() : unit.path().filename();
      INFO(name);
      CHECK(fs::is_regular_file(tree[built_path("UNIT_DIR")] / name));
    }
  }
  const std::string man_page = tree[built_path("MAN_PAGE")];
  std::string warnings;
  CHECK(run_command("groff -man -ww -z -Tutf8 " + man_page, warnings) == 0);
  CHECK(warnings == "");
  std::string requires_output;
  REQUIRE(run_command(tree.pkg_config("--print-requires"), requires_output) == 0);
  for (const char* name : {"libuv", "hiredis", "prometheus-cpp-core", "openssl", "zlib"}) {
    CHECK(requires_output.find(name) != std::string::npos);
  }
}

TEST_CASE("a .so app built with pkg-config --cflags serves in the installed prefork") {
  InstallTree tree;
  INFO(tree.output());
  REQUIRE(tree.installed());
  std::string cflags;
  REQUIRE(run_command(tree.pkg_config("--cflags"), cflags) == 0);
  CHECK(cflags.find(tree[built_path("INSTALL_PREFIX")].string()) != std::string::npos);
  const std::string module = compile(tree, "installed_module.cpp", "libinstalled.so",
                                     "-fPIC -shared $(" + tree.pkg_config("--cflags") + ")");
  REQUIRE(module != "");

  Server server(tree[built_path("INSTALLED_PREFORK")],
                {"-b", "127.0.0.1:0", "-w", "1", "--app", module + ":installed"}, server_env());
  const int port = server.serving_port(1);
  REQUIRE(port > 0);
  const Reply reply = http_get(port, "/");
  CHECK(reply.status == 200);
  CHECK(reply.body == "installed module\n");
  // The module's counter lives in the binary's Registry and reaches the master's /metrics.
  const int metrics = metrics_port(server);
  REQUIRE(metrics > 0);
  CHECK(
      eventually([&] { return sum_of(scrape(metrics), "installed_module_requests_total") == 1; }));
  server.signal(SIGTERM);
  CHECK(server.wait_exit(30s) == 0);
}

TEST_CASE("a server built with pkg-config --cflags --libs serves its linked-in app") {
  InstallTree tree;
  INFO(tree.output());
  REQUIRE(tree.installed());
  const std::string binary =
      compile(tree, "installed_server.cpp", "installed_server",
              sanitize_flags() + " $(" + tree.pkg_config("--cflags --libs") + ")");
  REQUIRE(binary != "");

  Server server(binary, {"-b", "127.0.0.1:0", "-w", "1"}, server_env());
  const int port = server.serving_port(1);
  REQUIRE(port > 0);
  const Reply reply = http_get(port, "/");
  CHECK(reply.status == 200);
  CHECK(reply.body == "installed server\n");
  server.signal(SIGTERM);
  CHECK(server.wait_exit(30s) == 0);
}

TEST_CASE(
    "examples/standalone-metrics builds with pkg-config --cflags --libs and stores in Redis") {
  InstallTree tree;
  INFO(tree.output());
  REQUIRE(tree.installed());
  const std::string binary =
      compile(tree, "main.cpp", "shop-import",
              sanitize_flags() + " $(" + tree.pkg_config("--cflags --libs") + ")",
              "examples/standalone-metrics");
  REQUIRE(binary != "");

  RedisServer redis;
  TempDir directory;
  const std::string config =
      directory.write("shop.toml", redis_config(redis, "instance = \"shop\"\n"));
  std::string output;
  CHECK(run_command(binary + " -c " + config + " book pen", output) == 0);
  INFO(output);
  // Retired at its end: shop_orders_total for book and pen, shop_import_runs_total.
  CHECK(redis_key_count(redis, "gunicorn:counter:shop-archive:metric:*") == 3);
}
