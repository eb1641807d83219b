#include "storage/redis/keys.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace prefork::storage {
namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view part : parts) {
    if (!key.empty()) key.push_back(':');
    key.append(part);
  }
  return key;
}

}  // namespace

std::string RedisKeys::metric(std::string_view kind, std::string_view process,
                              std::string_view md5) const {
  return join({prefix_, kind, process, "metric", md5});
}

std::string RedisKeys::meta(std::string_view kind, std::string_view process,
                            std::string_view md5) const {
  return join({prefix_, kind, process, "meta", md5});
}

std::string RedisKeys::processes() const {
  if (instance_.starts_with('{')) return join({prefix_, "processes", instance_});
  return join({prefix_, "processes"});
}

std::string RedisKeys::process(std::string_view process) const {
  return join({prefix_, "process", process});
}

std::string RedisKeys::series(std::string_view kind, std::string_view md5) {
  return join({kind, md5});
}

bool RedisKeys::split_series(std::string_view series, std::string_view& kind,
                             std::string_view& md5) {
  std::size_t colon = series.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == series.size()) return false;
  kind = series.substr(0, colon);
  md5 = series.substr(colon + 1);
  return true;
}

std::string key_instance(const config::Redis& redis, std::string_view instance) {
  if (redis.cluster_nodes.empty()) return std::string(instance);
  return "{" + std::string(instance.empty() ? std::string_view(redis.key_prefix) : instance) + "}";
}

std::string_view instance_name(std::string_view key_instance) {
  if (key_instance.size() > 2 && key_instance.front() == '{' && key_instance.back() == '}')
    return key_instance.substr(1, key_instance.size() - 2);
  return key_instance;
}

std::string archive_process(std::string_view instance) {
  return instance.empty() ? std::string("archive") : std::string(instance) + "-archive";
}

std::string process_name(std::string_view instance, long pid) {
  std::string number = std::to_string(pid);
  return instance.empty() ? number : std::string(instance) + "-" + number;
}

std::string_view instance_of_process(std::string_view process) {
  std::size_t dash = process.rfind('-');
  return dash == std::string_view::npos ? std::string_view() : process.substr(0, dash);
}

long pid_of_process(std::string_view instance, std::string_view process) {
  if (!instance.empty()) {
    if (!process.starts_with(instance) || process.size() <= instance.size() + 1 ||
        process[instance.size()] != '-') {
      return -1;
    }
    process.remove_prefix(instance.size() + 1);
  }
  long pid = -1;
  auto [end, error] = std::from_chars(process.data(), process.data() + process.size(), pid);
  if (error != std::errc() || end != process.data() + process.size() || pid <= 0) return -1;
  return pid;
}

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[32];
  int length = std::snprintf(text, sizeof text, "%.17g", value);
  return std::string(text, static_cast<std::size_t>(length));
}

bool parse_double(std::string_view text, double& value) {
  // from_chars reads everything format_double writes, without a copy; strtod remains for what
  // other writers may store ("+1", " 1", hexadecimal) and for out-of-range values.
  const char* end_of_text = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end_of_text, value);
  if (error == std::errc() && stop == end_of_text && !text.empty()) return true;
  std::string copy(text);
  char* end = nullptr;
  value = std::strtod(copy.c_str(), &end);
  return !copy.empty() && end == copy.c_str() + copy.size();
}

}  // namespace prefork::storage
