#include <doctest/doctest.h>

#include <string>

#include "http/date.hpp"
#include "http/serializer.hpp"
#include "http/status.hpp"

using prefork::Response;
using prefork::http::Framing;

namespace {

std::string render(const Response& response, Framing framing = {}) {
  std::string out;
  prefork::http::append_response(out, response, "Mon, 23 Nov 2026 09:00:00 GMT", framing);
  return out;
}

}  // namespace

TEST_CASE("a response has status line, Server, Date, Content-Length, Content-Type and body") {
  CHECK(render(Response::view(200, "text/plain", "Hello")) ==
        "HTTP/1.1 200 OK\r\nServer: prefork\r\nDate: Mon, 23 Nov 2026 09:00:00 GMT\r\n"
        "Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nHello");
}

TEST_CASE("user headers are kept, framing headers the server owns are dropped") {
  Response response = Response::text(201, "{}");
  response.headers = {{"X-Id", "7"}, {"content-length", "99"}, {"Connection", "upgrade"}};
  std::string out = render(response);
  CHECK(out.find("HTTP/1.1 201 Created\r\n") == 0);
  CHECK(out.find("\r\nX-Id: 7\r\n") != std::string::npos);
  CHECK(out.find("99") == std::string::npos);
  CHECK(out.find("upgrade") == std::string::npos);
  CHECK(out.find("Content-Length: 2\r\n") != std::string::npos);
}

TEST_CASE("HEAD keeps Content-Length and sends no body") {
  Framing framing;
  framing.head_request = true;
  std::string out = render(Response::view(200, "text/plain", "Hello"), framing);
  CHECK(out.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("Connection: close when closing, keep-alive for an HTTP/1.0 client that asked") {
  Framing closing;
  closing.close = true;
  CHECK(render(Response::empty(200), closing).find("\r\nConnection: close\r\n\r\n") !=
        std::string::npos);
  Framing old_keep_alive;
  old_keep_alive.keep_alive_header = true;
  CHECK(render(Response::empty(200), old_keep_alive).find("\r\nConnection: keep-alive\r\n") !=
        std::string::npos);
  CHECK(render(Response::empty(200)).find("Connection") == std::string::npos);
}

TEST_CASE("204 and 304 carry neither body nor Content-Length") {
  std::string out = render(Response::text(204, "ignored"));
  CHECK(out.find("HTTP/1.1 204 No Content\r\n") == 0);
  CHECK(out.find("Content-Length") == std::string::npos);
  CHECK(out.find("ignored") == std::string::npos);
  CHECK(render(Response::empty(304)).find("Content-Length") == std::string::npos);
  CHECK(render(Response::empty(200)).find("Content-Length: 0\r\n") != std::string::npos);
}

TEST_CASE("error answers close and name their status") {
  for (int status : {400, 413, 414, 431, 501, 505}) {
    CAPTURE(status);
    std::string out;
    prefork::http::append_error(out, status, "D");
    std::string reason(prefork::http::reason_phrase(status));
    CHECK(out.find("HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n") == 0);
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(out.substr(out.size() - reason.size()) == reason);
  }
}

TEST_CASE("reason phrases") {
  CHECK(prefork::http::reason_phrase(200) == "OK");
  CHECK(prefork::http::reason_phrase(404) == "Not Found");
  CHECK(prefork::http::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(prefork::http::reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(prefork::http::reason_phrase(299) == "Unknown");
  CHECK(render(Response::empty(299)).find("HTTP/1.1 299 Unknown\r\n") == 0);
}

TEST_CASE("the Date cache formats IMF-fixdate and refreshes only after a second") {
  prefork::http::DateCache cache;
  cache.refresh(5000, 1795942800);  // 2026-11-29 09:00:00 UTC, a Sunday
  CHECK(cache.get(5999) == "Sun, 29 Nov 2026 09:00:00 GMT");
  std::string refreshed(cache.get(6000));
  CHECK(refreshed != "Sun, 29 Nov 2026 09:00:00 GMT");
  CHECK(refreshed.size() == 29);
  CHECK(refreshed.substr(refreshed.size() - 4) == " GMT");
}
