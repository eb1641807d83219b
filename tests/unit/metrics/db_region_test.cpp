#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "metrics/db_region.hpp"

using namespace prefork::metrics;

namespace {

int new_memfd() {
  return memfd_create("db-region-test", MFD_CLOEXEC);
}

std::string used_bytes(int fd) {
  std::int32_t used = 0;
  REQUIRE(pread(fd, &used, 4, 0) == 4);
  std::string data(std::size_t(used), '\0');
  REQUIRE(pread(fd, data.data(), data.size(), 0) == ssize_t(data.size()));
  return data;
}

std::size_t size_of(int fd) {
  struct stat status;
  fstat(fd, &status);
  return std::size_t(status.st_size);
}

// Written by prometheus_client's MmapedDict: write_value of the three keys below.
const std::string golden(
    "\x90\x00\x00\x00\x00\x00\x00\x00\x19\x00\x00\x00\x5b\x22\x63\x22"
    "\x2c\x20\x22\x63\x5f\x74\x6f\x74\x61\x6c\x22\x2c\x20\x7b\x7d\x2c"
    "\x20\x22\x68\x22\x5d\x20\x20\x20\x00\x00\x00\x00\x00\x00\xf8\x3f"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x1b\x00\x00\x00\x5b\x22\x67\x22"
    "\x2c\x20\x22\x67\x22\x2c\x20\x7b\x22\x61\x22\x3a\x20\x22\x62\x22"
    "\x7d\x2c\x20\x22\x68\x22\x5d\x20\x00\x00\x00\x00\x00\x00\x00\xc0"
    "\x00\x00\x20\x40\xfc\x54\xd9\x41\x12\x00\x00\x00\x5b\x22\x78\x22"
    "\x2c\x20\x22\x78\x22\x2c\x20\x7b\x7d\x2c\x20\x22\x22\x5d\x20\x20"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    144);

}  // namespace

TEST_CASE("a new region is 64 KiB with used = 8") {
  const int fd = new_memfd();
  DbRegion region(fd, "test");
  CHECK(size_of(fd) == 65536);
  CHECK(used_bytes(fd) == std::string("\x08\x00\x00\x00\x00\x00\x00\x00", 8));
}

TEST_CASE("entries are byte for byte prometheus_client's") {
  const int fd = new_memfd();
  DbRegion region(fd, "test");
  double* counter = region.cell(R"(["c", "c_total", {}, "h"])");
  counter[0] = 1.5;
  double* gauge = region.cell(R"(["g", "g", {"a": "b"}, "h"])");
  gauge[0] = -2.0;
  gauge[1] = 1700000000.5;
  region.cell(R"(["x", "x", {}, ""])");
  CHECK(used_bytes(fd) == golden);
}

TEST_CASE("padding is 1 to 8 spaces") {
  CHECK(db_entry_size(3) == 4 + 3 + 1 + 16);
  CHECK(db_entry_size(4) == 4 + 4 + 8 + 16);
  CHECK(db_entry_size(5) == 4 + 5 + 7 + 16);
  const int fd = new_memfd();
  DbRegion region(fd, "test");
  region.cell("abcd");
  CHECK(used_bytes(fd) == std::string("\x28\x00\x00\x00\x00\x00\x00\x00"
                                      "\x04\x00\x00\x00"
                                      "abcd        ",
                                      24) +
                              std::string(16, '\0'));
}

TEST_CASE("golden bytes read back, in the reader and in a reopened region") {
  const int fd = new_memfd();
  REQUIRE(ftruncate(fd, 65536) == 0);
  REQUIRE(pwrite(fd, golden.data(), golden.size(), 0) == ssize_t(golden.size()));
  std::vector<StoredValue> values;
  REQUIRE(read_db(fd, values).ok());
  REQUIRE(values.size() == 3);
  CHECK(values[0].key == R"(["c", "c_total", {}, "h"])");
  CHECK(values[0].value == 1.5);
  CHECK(values[1].value == -2.0);
  CHECK(values[1].timestamp == 1700000000.5);
  CHECK(values[2].key == R"(["x", "x", {}, ""])");

  DbRegion region(dup(fd), "reopened");
  double* gauge = region.find(R"(["g", "g", {"a": "b"}, "h"])");
  REQUIRE(gauge != nullptr);
  CHECK(gauge[0] == -2.0);
  CHECK(region.cell(R"(["c", "c_total", {}, "h"])")[0] == 1.5);
  CHECK(used_bytes(fd) == golden);  // nothing was added
  close(fd);
}

TEST_CASE("growth doubles the file and keeps value addresses") {
  const int fd = new_memfd();
  DbRegion region(fd, "test", std::size_t(1) << 24);
  double* first = region.cell("first");
  *first = 42;
  const std::string long_key(1000, 'k');
  std::vector<double*> cells;
  for (int i = 0; i < 200; ++i) {
    double* cell = region.cell(long_key + std::to_string(i));
    *cell = i;
    cells.push_back(cell);
  }
  CHECK(size_of(fd) == 262144);
  CHECK(region.cell("first") == first);
  CHECK(*first == 42);
  std::vector<StoredValue> values;
  REQUIRE(read_db(fd, values).ok());
  REQUIRE(values.size() == 201);
  CHECK(values[200].value == 199);
  CHECK(region.values().size() == 201);
}

TEST_CASE("a full reservation is a clear error, not a crash") {
  const int fd = new_memfd();
  DbRegion region(fd, "small", 65536);
  const std::string key(60000, 'k');
  region.cell(key + "1");
  CHECK_THROWS_AS(region.cell(key + "2"), std::length_error);
}

TEST_CASE("corrupted content is refused with the reason") {
  const int fd = new_memfd();
  REQUIRE(ftruncate(fd, 65536) == 0);
  std::string broken = golden;
  broken[8] = '\x7f';  // first key length far beyond used
  REQUIRE(pwrite(fd, broken.data(), broken.size(), 0) == ssize_t(broken.size()));
  std::vector<StoredValue> values;
  CHECK(read_db(fd, values).message().find("beyond the used size") != std::string::npos);
  CHECK_THROWS_WITH_AS(DbRegion(dup(fd), "broken.db"), doctest::Contains("broken.db is corrupted"),
                       std::runtime_error);
  close(fd);
}

TEST_CASE("open_db_file creates atomically and reopens") {
  char directory[] = "/tmp/prefork-db-XXXXXX";
  REQUIRE(mkdtemp(directory));
  const std::string path = std::string(directory) + "/counter_1.db";
  {
    DbRegion region(open_db_file(path), path);
    region.cell("k")[0] = 7;
  }
  {
    DbRegion region(open_db_file(path), path);
    CHECK(region.cell("k")[0] == 7);
  }
  std::vector<StoredValue> values;
  REQUIRE(read_db_file(path, values).ok());
  REQUIRE(values.size() == 1);
  CHECK_FALSE(read_db_file(path + ".missing", values).ok());
  CHECK(access((path + ".tmp-" + std::to_string(getpid())).c_str(), F_OK) != 0);
  unlink(path.c_str());
  rmdir(directory);
}
