// Values nested deeper than toml11's recursion can bear are refused before it parses them.
#include "config/nesting.hpp"
#include "load_helpers.hpp"

using namespace prefork::config;
using prefork::Status;
using namespace prefork::config::testing;

namespace {

std::string nested(const std::string& open, const std::string& close, int depth,
                   const std::string& leaf) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += open;
  text += leaf;
  for (int i = 0; i < depth; ++i) text += close;
  return text;
}

const std::string too_deep = "values nest deeper than 64 levels (arrays and inline tables)";

}  // namespace

TEST_CASE("an array 8000 deep is refused with its file and line, not a crash") {
  TomlFile file("# x\nworkers = 2\nbind = " + nested("[", "]", 8000, "1") + "\n");
  CHECK(error_of({"-c", file.path()}) == file.at(3) + too_deep);
}

TEST_CASE("inline tables 5000 deep are refused with their file and line") {
  TomlFile file("workers = 2\n[app]\nx = " + nested("{a = ", "}", 5000, "1") + "\n");
  CHECK(error_of({"-c", file.path()}) == file.at(3) + too_deep);
}

TEST_CASE("64 levels are allowed, 65 are not") {
  CHECK(check_nesting("x = " + nested("[", "]", 64, "1")).ok());
  Status deeper = check_nesting("x = " + nested("[", "]", 65, "1"));
  CHECK_FALSE(deeper.ok());
  CHECK(deeper.message() == "1: " + too_deep);
}

TEST_CASE("table headers, closed levels and siblings do not add up") {
  std::string text = "[a]\n[[b]]\n[[b]]\n";
  for (int i = 0; i < 100; ++i)
    text += "k" + std::to_string(i) + " = " + nested("[", "]", 60, "1") + "\n";
  CHECK(check_nesting(text).ok());
}

TEST_CASE("brackets in strings and comments do not count") {
  std::string brackets(200, '[');
  CHECK(check_nesting("a = \"" + brackets + "\"\n").ok());
  CHECK(check_nesting("a = '" + brackets + "'\n").ok());
  CHECK(check_nesting("a = \"\"\"\n" + brackets + "\n\"\"\"\n").ok());
  CHECK(check_nesting("a = '''" + brackets + "'''\n").ok());
  CHECK(check_nesting("# " + brackets + "\n").ok());
  CHECK(check_nesting("a = \"\\\"" + brackets + "\"\n").ok());
  CHECK(check_nesting("\"" + brackets + "\" = 1\n").ok());
}

TEST_CASE("lines are counted through strings and comments") {
  std::string deep = nested("[", "]", 65, "1");
  Status status = check_nesting("# c\na = \"\"\"\n\n\"\"\"\nb = '[['\nc = " + deep + "\n");
  CHECK(status.message() == "6: " + too_deep);
}

TEST_CASE("a huge unknown key is shown shortened, with its length") {
  std::string key(1 << 20, 'k');
  TomlFile file("# x\nworkers = 2\n" + key + " = 1\n");
  std::string message = error_of({"-c", file.path()});
  CHECK(message.size() < 300);
  CHECK(message == file.at(3) + std::string(60, 'k') + "… (1048576 bytes): unknown key");
}
