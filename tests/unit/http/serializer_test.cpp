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

namespace {

std::string render_stream_head(const Response& head, prefork::http::Transfer transfer,
                               std::size_t length = 0, Framing framing = {}) {
  std::string out;
  prefork::http::append_stream_head(out, head, "D", framing, transfer, length);
  return out;
}

}  // namespace

TEST_CASE("a streamed head is framed by chunked, Content-Length or the close, never its body") {
  using prefork::http::Transfer;
  Response head = Response::text(200, "not written here");
  head.headers = {{"X-Id", "7"}, {"Transfer-Encoding", "gzip"}, {"Content-Length", "3"}};
  CHECK(render_stream_head(head, Transfer::chunked) ==
        "HTTP/1.1 200 OK\r\nServer: prefork\r\nDate: D\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nX-Id: 7\r\n\r\n");
  CHECK(render_stream_head(head, Transfer::length, 123456) ==
        "HTTP/1.1 200 OK\r\nServer: prefork\r\nDate: D\r\nContent-Length: 123456\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nX-Id: 7\r\n\r\n");
  Framing closing;
  closing.close = true;
  CHECK(render_stream_head(Response::empty(200), Transfer::until_close, 0, closing) ==
        "HTTP/1.1 200 OK\r\nServer: prefork\r\nDate: D\r\nConnection: close\r\n\r\n");
  // A status without a body has no framing header at all.
  CHECK(render_stream_head(Response::empty(304), Transfer::chunked) ==
        "HTTP/1.1 304 Not Modified\r\nServer: prefork\r\nDate: D\r\n\r\n");
}

TEST_CASE("chunks carry their size in hex; an empty one is not written, the last one ends") {
  std::string out;
  prefork::http::append_chunk(out, "hello");
  prefork::http::append_chunk(out, "");
  prefork::http::append_chunk(out, std::string(4096, 'x'));
  prefork::http::append_chunk(out, std::string(26, 'y'));
  out.append(prefork::http::last_chunk);
  CHECK(out == "5\r\nhello\r\n1000\r\n" + std::string(4096, 'x') + "\r\n1a\r\n" +
                   std::string(26, 'y') + "\r\n0\r\n\r\n");
  std::string large;
  prefork::http::append_chunk(large, std::string(0x12345, 'z'));
  CHECK(large.rfind("12345\r\n", 0) == 0);
  CHECK(large.size() == 7 + 0x12345 + 2);
}
