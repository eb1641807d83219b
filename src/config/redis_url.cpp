#include "config/redis_url.hpp"

#include "config/bind.hpp"

#include <charconv>

namespace prefork::config {
namespace {

constexpr std::string_view scheme = "redis://";
constexpr std::string_view tls_scheme = "rediss://";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// User names and passwords may carry reserved characters percent-encoded ("p%40ss" for "p@ss").
bool percent_decode(const std::string& text, std::string& out) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int high = hex_digit(text[i + 1]);
    int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return false;
    decoded += char(high * 16 + low);
    i += 2;
  }
  out = std::move(decoded);
  return true;
}

// "user:password", ":password" or "user" (an ACL user without a password, "nopass").
Status parse_user_info(const std::string& user_info, RedisAddress& address) {
  auto colon = user_info.find(':');
  std::string password = colon == std::string::npos ? "" : user_info.substr(colon + 1);
  if (!percent_decode(user_info.substr(0, colon), address.username)) {
    return Status::error("bad percent-encoding in the user name");
  }
  if (!percent_decode(password, address.password)) {
    return Status::error("bad percent-encoding in the password");
  }
  address.has_credentials = true;
  return {};
}

}  // namespace

Status parse_host_port(const std::string& authority, RedisAddress& address) {
  std::string host = authority;
  std::string port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return Status::error("unclosed [ in the host");
    host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return Status::error("unexpected text after ]");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (auto colon = authority.find(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return Status::error("the host is missing");
  address.host = host;
  if (!has_port) return {};
  int number = 0;
  if (!parse_port(port, number) || number == 0) return Status::error("expected a port 1..65535");
  address.port = number;
  return {};
}

namespace {

Status parse_db(const std::string& path, RedisAddress& address) {
  if (path.empty()) return {};
  int db = -1;
  auto [end, error] = std::from_chars(path.data(), path.data() + path.size(), db);
  if (error != std::errc() || end != path.data() + path.size() || db < 0) {
    return Status::error("expected a database number after /, got " + quoted(path));
  }
  address.db = db;
  return {};
}

// Messages may end up in logs: never repeat the password (the user name stays, it helps).
std::string redacted(const std::string& url) {
  return quoted(redact_password(url));
}

}  // namespace

std::string redact_password(const std::string& url) {
  auto start = url.find("://");
  auto at = url.rfind('@');
  if (start == std::string::npos || at == std::string::npos || at < start) return url;
  std::string user_info = url.substr(start + 3, at - start - 3);
  std::string user = user_info.substr(0, user_info.find(':'));
  return url.substr(0, start + 3) + user + ":***" + url.substr(at);
}

Status parse_redis_url(const std::string& url, RedisAddress& address) {
  bool tls = url.starts_with(tls_scheme);
  if (!tls && !url.starts_with(scheme))
    return Status::error("expected a redis:// or rediss:// URL, got " + redacted(url));
  if (url.find_first_of("?#") != std::string::npos) {
    return Status::error("query parameters and fragments are not supported in " + redacted(url));
  }
  std::string rest = url.substr(tls ? tls_scheme.size() : scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  RedisAddress parsed;
  parsed.tls = tls;
  auto at = authority.rfind('@');
  Status status;
  if (at != std::string::npos) status = parse_user_info(authority.substr(0, at), parsed);
  if (status.ok()) {
    status =
        parse_host_port(at == std::string::npos ? authority : authority.substr(at + 1), parsed);
  }
  if (status.ok()) status = parse_db(path, parsed);
  if (!status.ok()) return Status::error(status.message() + " in " + redacted(url));
  address = std::move(parsed);
  return {};
}

}  // namespace prefork::config
