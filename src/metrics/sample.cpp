#include "metrics/sample.hpp"

#include <array>
#include <utility>

namespace prefork::metrics {
namespace {

constexpr std::array<std::pair<GaugeMode, std::string_view>, 10> mode_names{{
    {GaugeMode::all, "all"},
    {GaugeMode::liveall, "liveall"},
    {GaugeMode::min, "min"},
    {GaugeMode::livemin, "livemin"},
    {GaugeMode::max, "max"},
    {GaugeMode::livemax, "livemax"},
    {GaugeMode::sum, "sum"},
    {GaugeMode::livesum, "livesum"},
    {GaugeMode::mostrecent, "mostrecent"},
    {GaugeMode::livemostrecent, "livemostrecent"},
}};

constexpr std::string_view gauge_prefix = "gauge_";

}  // namespace

std::string_view gauge_mode_name(GaugeMode mode) {
  for (const auto& [known, name] : mode_names) {
    if (known == mode) return name;
  }
  return "all";
}

bool parse_gauge_mode(std::string_view name, GaugeMode& mode) {
  // The exporter's documentation names a mode "live"; it behaves as liveall.
  if (name == "live") {
    mode = GaugeMode::liveall;
    return true;
  }
  for (const auto& [known, known_name] : mode_names) {
    if (known_name == name) {
      mode = known;
      return true;
    }
  }
  return false;
}

std::string ValueKind::token() const {
  switch (type) {
    case Type::counter:
      return "counter";
    case Type::histogram:
      return "histogram";
    case Type::summary:
      return "summary";
    case Type::gauge:
      break;
  }
  std::string token(gauge_prefix);
  token += gauge_mode_name(mode);
  return token;
}

bool ValueKind::parse(std::string_view token, ValueKind& kind) {
  if (token == "counter" || token == "histogram" || token == "summary") {
    kind.type = token == "counter"     ? Type::counter
                : token == "histogram" ? Type::histogram
                                       : Type::summary;
    kind.mode = GaugeMode::all;
    return true;
  }
  if (!token.starts_with(gauge_prefix)) return false;
  GaugeMode mode;
  if (!parse_gauge_mode(token.substr(gauge_prefix.size()), mode)) return false;
  kind.type = Type::gauge;
  kind.mode = mode;
  return true;
}

bool ValueKind::is_live_gauge() const {
  if (type != Type::gauge) return false;
  switch (mode) {
    case GaugeMode::liveall:
    case GaugeMode::livemin:
    case GaugeMode::livemax:
    case GaugeMode::livesum:
    case GaugeMode::livemostrecent:
      return true;
    default:
      return false;
  }
}

}  // namespace prefork::metrics
