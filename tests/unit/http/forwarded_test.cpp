// What a trusted front end's headers say: secure_scheme_headers as gunicorn reads them, and the
// right-most X-Forwarded-For address.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "http/forwarded.hpp"
#include "http/parser.hpp"

using prefork::config::Config;
using prefork::config::SchemeHeader;
using prefork::http::Forwarded;

namespace {

// What the reader makes of a GET with these header lines; `client` is copied out of the request's
// buffer, which ends with the call.
struct Read {
  Forwarded forwarded;
  std::string client;
};

Read read(const std::string& header_lines,
          const std::vector<SchemeHeader>& scheme_headers = Config{}.secure_scheme_headers) {
  std::string buffer = "GET / HTTP/1.1\r\nHost: example.com\r\n" + header_lines + "\r\n";
  prefork::http::Parser parser(prefork::config::Limits{});
  REQUIRE(parser.execute(buffer.data(), 0, buffer.size()) ==
          prefork::http::Parser::Outcome::message);
  Read result;
  result.forwarded =
      prefork::http::ForwardedReader(scheme_headers).read(parser.message(), buffer.data());
  result.client = std::string(result.forwarded.client);
  result.forwarded.client = {};  // it pointed into buffer
  return result;
}

// With the default secure_scheme_headers, or these.
Forwarded forwarded(
    const std::string& header_lines,
    const std::vector<SchemeHeader>& scheme_headers = Config{}.secure_scheme_headers) {
  return read(header_lines, scheme_headers).forwarded;
}

std::string client(const std::string& header_lines) {
  return read(header_lines).client;
}

std::string peer_of(std::string_view client) {
  char out[56];
  return std::string(out, prefork::http::format_forwarded_peer(client, out, sizeof out));
}

}  // namespace

TEST_CASE("no forwarding headers: nothing to say") {
  Forwarded none = forwarded("");
  CHECK_FALSE(none.scheme_header);
  CHECK_FALSE(none.conflict);
  CHECK(client("").empty());
}

TEST_CASE("each default secure scheme header with its value means https") {
  for (std::string line : {"X-Forwarded-Proto: https\r\n", "X-FORWARDED-PROTOCOL: ssl\r\n",
                           "x-forwarded-ssl: on\r\n"}) {
    CAPTURE(line);
    Forwarded result = forwarded(line);
    CHECK(result.scheme_header);
    CHECK(result.https);
    CHECK_FALSE(result.conflict);
  }
}

TEST_CASE("another value means http; values compare case-sensitively, as gunicorn's") {
  CHECK_FALSE(forwarded("X-Forwarded-Proto: http\r\n").https);
  CHECK(forwarded("X-Forwarded-Proto: http\r\n").scheme_header);
  CHECK_FALSE(forwarded("X-Forwarded-Proto: HTTPS\r\n").https);
}

TEST_CASE("secure scheme headers that agree are fine; ones that disagree are a conflict") {
  Forwarded agree = forwarded("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n");
  CHECK(agree.https);
  CHECK_FALSE(agree.conflict);
  CHECK(forwarded("X-Forwarded-Ssl: on\r\nX-Forwarded-Proto: http\r\n").conflict);
  CHECK(forwarded("X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n").conflict);
  CHECK_FALSE(forwarded("X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: off\r\n").conflict);
}

TEST_CASE("only the configured headers count") {
  std::vector<SchemeHeader> custom = {{"X-SCHEME", "https"}};
  CHECK(forwarded("X-Scheme: https\r\n", custom).https);
  CHECK_FALSE(forwarded("X-Forwarded-Proto: https\r\n", custom).scheme_header);
  CHECK_FALSE(forwarded("X-Forwarded-Proto: https\r\n", {}).scheme_header);
  // Names of the same length as one looked for, and names longer than the length filter.
  CHECK_FALSE(forwarded("Accept-Encoding: https\r\n").scheme_header);
  std::string long_name = "X-" + std::string(70, 'L');
  std::vector<SchemeHeader> long_custom = {{long_name, "https"}};
  CHECK(forwarded(long_name + ": https\r\n", long_custom).https);
}

TEST_CASE("X-Forwarded-For: the right-most address, the one the trusted proxy appended") {
  CHECK(client("X-Forwarded-For: 203.0.113.7\r\n") == "203.0.113.7");
  CHECK(client("X-Forwarded-For: 10.1.1.1, 198.51.100.2 ,203.0.113.7\r\n") == "203.0.113.7");
  CHECK(client("X-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 2001:db8::5\r\n") == "2001:db8::5");
  CHECK(client("x-forwarded-for: 1.2.3.4\r\n") == "1.2.3.4");
  // What is not an address is ignored: the connection's peer stays.
  CHECK(client("X-Forwarded-For: 1.2.3.4, unknown\r\n").empty());
  CHECK(client("X-Forwarded-For: 1.2.3.4:80\r\n").empty());
  CHECK(client("X-Forwarded-For: [2001:db8::5]\r\n").empty());
  CHECK(client("X-Forwarded-For: 1.2.3.4,\r\n").empty());
  CHECK(client("X-Forwarded-For:\r\n").empty());
}

TEST_CASE("the forwarded client in Request::peer()'s form, port 0") {
  CHECK(peer_of("203.0.113.7") == "203.0.113.7:0");
  CHECK(peer_of("2001:db8::5") == "[2001:db8::5]:0");
  char small[8];
  CHECK(prefork::http::format_forwarded_peer("203.0.113.7", small, sizeof small) == 0);
}
