// Behind a proxy: forwarded_allow_ips, secure_scheme_headers, proxy_protocol, proxy_allow_ips,
// from the file, the environment and the command line, and their errors.
#include "load_helpers.hpp"

using namespace prefork::config;
using namespace prefork::config::testing;

TEST_CASE("the defaults are gunicorn's") {
  Config config = loaded({});
  CHECK(config.forwarded_allow_ips.text() == "127.0.0.1,::1");
  CHECK(config.forwarded_allow_ips.allows("127.0.0.1"));
  CHECK_FALSE(config.forwarded_allow_ips.allows("10.0.0.1"));
  CHECK(config.proxy_allow_ips.text() == "127.0.0.1,::1");
  CHECK_FALSE(config.proxy_protocol);
  CHECK(config.secure_scheme_headers == std::vector<SchemeHeader>{{"X-FORWARDED-PROTO", "https"},
                                                                  {"X-FORWARDED-PROTOCOL", "ssl"},
                                                                  {"X-FORWARDED-SSL", "on"}});
}

TEST_CASE("from a file: lists as a string or an array, headers as a table") {
  TomlFile file(
      "forwarded_allow_ips = \"10.0.0.0/8, 192.168.0.1\"\n"
      "proxy_allow_ips = [\"10.1.0.0/16\", \"::1,fd00::/8\"]\n"
      "proxy_protocol = true\n"
      "secure_scheme_headers = { \"X-Scheme\" = \"https\", \"Front-End-Https\" = \"on\" }\n");
  Config config = loaded({"-c", file.path()});
  CHECK(config.forwarded_allow_ips.allows("10.2.3.4"));
  CHECK(config.forwarded_allow_ips.allows("192.168.0.1"));
  CHECK_FALSE(config.forwarded_allow_ips.allows("127.0.0.1"));
  CHECK(config.proxy_allow_ips.text() == "10.1.0.0/16,::1,fd00::/8");
  CHECK(config.proxy_protocol);
  CHECK(config.secure_scheme_headers ==
        std::vector<SchemeHeader>{{"FRONT-END-HTTPS", "on"}, {"X-SCHEME", "https"}});
}

TEST_CASE("a [secure_scheme_headers] table, or an empty one (no header is trusted)") {
  TomlFile file("[secure_scheme_headers]\nX-FORWARDED-PROTO = \"https\"\n");
  CHECK(loaded({"-c", file.path()}).secure_scheme_headers ==
        std::vector<SchemeHeader>{{"X-FORWARDED-PROTO", "https"}});
  file.rewrite("secure_scheme_headers = {}\n");
  CHECK(loaded({"-c", file.path()}).secure_scheme_headers.empty());
}

TEST_CASE("FORWARDED_ALLOW_IPS and the flags") {
  CHECK(loaded({}, {"FORWARDED_ALLOW_IPS=*"}).forwarded_allow_ips.allows_all());
  Config config = loaded({"--forwarded-allow-ips", "10.0.0.1", "--proxy-protocol",
                          "--proxy-allow-from", "10.0.0.0/24, 10.0.1.0/24"});
  CHECK(config.forwarded_allow_ips.text() == "10.0.0.1");
  CHECK(config.proxy_protocol);
  CHECK(config.proxy_allow_ips.allows("10.0.1.9"));
  CHECK_FALSE(config.proxy_allow_ips.allows("127.0.0.1"));
}

TEST_CASE("bad values name file, line and key") {
  TomlFile file("backlog = 64\nforwarded_allow_ips = \"127.0.0.1,10.0.0.300\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) +
            "forwarded_allow_ips: expected \"*\", an IP address or a CIDR network (ADDRESS/BITS), "
            "got \"10.0.0.300\"");
  file.rewrite("\nproxy_allow_ips = \"10.0.0.0/40\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) +
            "proxy_allow_ips: bad network \"10.0.0.0/40\": the prefix length must be 0..32");
  file.rewrite("\nproxy_allow_ips = \"10.0.0.1/8\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) + "proxy_allow_ips: bad network \"10.0.0.1/8\": it has host bits set");
  file.rewrite("\nproxy_protocol = \"v2\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) + "proxy_protocol: expected a boolean, got a string");
  file.rewrite("\nsecure_scheme_headers = \"X-Forwarded-Proto\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) +
            "secure_scheme_headers: expected a table of header names and values, e.g. { "
            "\"X-FORWARDED-PROTO\" = \"https\" }, got a string");
  file.rewrite("\nsecure_scheme_headers = { \"X-Proto\" = 1 }\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) + "secure_scheme_headers: \"X-Proto\": expected a string, got an integer");
  file.rewrite("\nsecure_scheme_headers = { \"X Proto\" = \"https\" }\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) + "secure_scheme_headers: not a header name: \"X Proto\"");
  file.rewrite("\nsecure_scheme_headers = { \"x-proto\" = \"https\", \"X-PROTO\" = \"on\" }\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(2) + "secure_scheme_headers: header \"X-PROTO\" given twice");
  CHECK(error_of({}, {"FORWARDED_ALLOW_IPS=localhost"}) ==
        "environment: FORWARDED_ALLOW_IPS: expected \"*\", an IP address or a CIDR network "
        "(ADDRESS/BITS), got \"localhost\"");
  CHECK(error_of({"--proxy-allow-from", "nowhere"}).find("\"nowhere\"") != std::string::npos);
}
