// The Prometheus text format 0.0.4, byte for byte as prometheus_client's generate_latest().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/aggregate.hpp"

namespace prefork::metrics {

inline constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";

// "# HELP" and "# TYPE" per family (counters named with "_total"), then one line per sample:
// labels sorted by name, values escaped (\\ \n \"), numbers as floatToGoString.
std::string render_text(const std::vector<Family>& families);
void append_text(std::string& out, const Family& family);

// gzip (RFC 1952) of text, for clients that send "Accept-Encoding: gzip". Returns false only
// when zlib fails (out of memory).
bool gzip(std::string_view text, std::string& compressed);

// Whether an Accept-Encoding header value allows gzip (a "gzip" coding without q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace prefork::metrics
