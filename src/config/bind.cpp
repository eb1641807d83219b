#include "config/bind.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <climits>

namespace prefork::config {
namespace {

constexpr const char* forms = "expected HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N";

Status parse_unix(const std::string& text, Bind& bind) {
  std::string path = text.substr(5);
  if (path.empty()) return Status::error("unix socket path is empty in " + quoted(text));
  bind.kind = Bind::Kind::unix_socket;
  bind.path = path;
  return {};
}

Status parse_fd(const std::string& text, Bind& bind) {
  std::string number = text.substr(5);
  int fd = -1;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), fd);
  if (number.empty() || error != std::errc() || end != number.data() + number.size() || fd < 0) {
    return Status::error("expected a file descriptor number after fd://, got " + quoted(text));
  }
  bind.kind = Bind::Kind::fd;
  bind.fd = fd;
  return {};
}

Status parse_tcp(const std::string& text, Bind& bind) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::error(std::string(forms) + ", got " + quoted(text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string::npos || !is_ip_address(host)) {
      return Status::error("expected an IPv6 address inside [], got " + quoted(text));
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return Status::error(std::string(forms) + ", got " + quoted(text));
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return Status::error("IPv6 addresses need brackets, e.g. [::1]:8000, got " + quoted(text));
    }
    if (host.empty()) host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    if (!is_ip_address(host)) {
      return Status::error("expected an IP address (or localhost) as host, got " + quoted(text));
    }
  }
  int number = 0;
  if (!parse_port(port, number))
    return Status::error("expected a port 0..65535, got " + quoted(text));
  bind.kind = Bind::Kind::tcp;
  bind.host = host;
  bind.port = number;
  return {};
}

}  // namespace

bool parse_port(const std::string& text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0 || value > 65535) {
    return false;
  }
  port = value;
  return true;
}

bool is_ip_address(const std::string& text) {
  unsigned char address[16];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

Status parse_bind(const std::string& text, Bind& bind) {
  Bind parsed;
  // The scheme is a prefix; the rest is any of the other forms, and messages quote the rest.
  std::string rest = text;
  if (text.rfind("https://", 0) == 0) {
    parsed.scheme = Bind::Scheme::https;
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    parsed.scheme = Bind::Scheme::http;
    rest = text.substr(7);
  }
  Status status;
  if (rest.rfind("unix:", 0) == 0) {
    status = parse_unix(rest, parsed);
  } else if (rest.rfind("fd://", 0) == 0) {
    status = parse_fd(rest, parsed);
  } else {
    status = parse_tcp(rest, parsed);
  }
  if (!status.ok()) {
    if (rest.size() == text.size()) return status;
    return Status::error(status.message() + " (after " + text.substr(0, text.size() - rest.size()) +
                         ")");
  }
  parsed.text = text;
  bind = std::move(parsed);
  return {};
}

}  // namespace prefork::config
