#include "metrics/exposition.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>

#include "core/text.hpp"
#include "metrics/float_text.hpp"

namespace prefork::metrics {
namespace {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
    case Type::summary:
      return "summary";
  }
  return "untyped";
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_labels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  const Labels* sorted = &labels;
  Labels copy;
  if (!std::is_sorted(labels.begin(), labels.end())) {
    copy = labels;
    std::sort(copy.begin(), copy.end());
    sorted = &copy;
  }
  out += '{';
  bool first = true;
  for (const auto& [name, value] : *sorted) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  out += '}';
}

}  // namespace

void append_text(std::string& out, const Family& family) {
  std::string name = family.name;
  if (family.type == Type::counter) name += "_total";
  out += "# HELP ";
  out += name;
  out += ' ';
  append_help(out, family.help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type_name(family.type);
  out += '\n';
  for (const Sample& sample : family.samples) {
    out += sample.name;
    append_labels(out, sample.labels);
    out += ' ';
    append_go_float(out, sample.value);
    out += '\n';
  }
}

std::string render_text(const std::vector<Family>& families) {
  std::string out;
  for (const Family& family : families) append_text(out, family);
  return out;
}

bool gzip(std::string_view text, std::string& compressed) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  compressed.resize(deflateBound(&stream, uLong(text.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = uInt(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(compressed.data());
  stream.avail_out = uInt(compressed.size());
  const int result = deflate(&stream, Z_FINISH);
  compressed.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END;
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::size_t start = 0;
  while (start <= accept_encoding.size()) {
    std::size_t end = accept_encoding.find(',', start);
    if (end == std::string_view::npos) end = accept_encoding.size();
    std::string_view coding = accept_encoding.substr(start, end - start);
    start = end + 1;
    const std::size_t parameters = coding.find(';');
    std::string_view token = coding.substr(0, parameters);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    // Content-coding names are case-insensitive (RFC 9110, 8.4.1).
    if (!iequals(token, "gzip") && token != "*") continue;
    if (parameters == std::string_view::npos) return true;
    std::string_view rest = coding.substr(parameters + 1);
    const std::size_t q = rest.find("q=");
    if (q == std::string_view::npos) return true;
    const std::string weight(rest.substr(q + 2));
    return std::strtod(weight.c_str(), nullptr) > 0;
  }
  return false;
}

}  // namespace prefork::metrics
