#include "storage/redis/endpoint.hpp"

#include <charconv>

namespace prefork::storage {
namespace {

bool parse_number(std::string_view text, int low, int high, int& number) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  return error == std::errc() && end == text.data() + text.size() && number >= low &&
         number <= high;
}

std::string percent_decode(std::string_view text) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int byte = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16).ptr ==
            text.data() + i + 3) {
      decoded.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      decoded.push_back(text[i]);
    }
  }
  return decoded;
}

EndpointResult failure(std::string_view url, std::string_view why) {
  EndpointResult result;
  result.error = "PROMETHEUS_REDIS_URL '" + std::string(url) + "': " + std::string(why);
  return result;
}

}  // namespace

EndpointResult parse_redis_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.starts_with("rediss://")) {
    return failure(url, "TLS (rediss://) is not supported; refusing to connect in plaintext");
  }
  if (!url.starts_with(scheme)) return failure(url, "expected redis://[:password@]host:port/db");
  std::string_view rest = url.substr(scheme.size());
  EndpointResult result;

  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_number(db, 0, 1 << 20, result.endpoint.db)) {
      return failure(url, "the database must be a number");
    }
  }

  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view credentials = authority.substr(0, at);
    std::size_t colon = credentials.find(':');
    if (colon != std::string_view::npos) {
      result.endpoint.password = percent_decode(credentials.substr(colon + 1));
    }
    authority = authority.substr(at + 1);
  }

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return failure(url, "unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (after.starts_with(':')) port = after.substr(1);
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return failure(url, "the host is missing");
  result.endpoint.host = std::string(host);
  if (!port.empty() && !parse_number(port, 1, 65535, result.endpoint.port)) {
    return failure(url, "the port must be a number from 1 to 65535");
  }
  return result;
}

EndpointResult resolve_endpoint(const config::Redis& redis) {
  EndpointResult result;
  if (redis.ssl) {
    result.error = "REDIS_SSL=true: TLS is not supported; refusing to connect in plaintext";
    return result;
  }
  if (!redis.url.empty()) {
    result = parse_redis_url(redis.url);
    if (result.endpoint.password.empty()) result.endpoint.password = redis.password;
  } else {
    result.endpoint.host = redis.host;
    result.endpoint.port = redis.port;
    result.endpoint.db = redis.db;
    result.endpoint.password = redis.password;
  }
  result.endpoint.connect_timeout = redis.connect_timeout;
  result.endpoint.command_timeout = redis.command_timeout;
  return result;
}

}  // namespace prefork::storage
