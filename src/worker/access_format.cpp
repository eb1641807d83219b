#include "worker/access_format.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "core/json_text.hpp"
#include "core/text.hpp"

namespace prefork::worker {
namespace {

constexpr std::string_view missing = "-";

// Control characters would break the line and quotes would break the quoted fields around
// them, so they are escaped the way Apache does: \x0a, \", \\.
void append_escaped(std::string& out, std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool control = c < 0x20 || c == 0x7f;
    if (!control && c != '"' && c != '\\') continue;
    out.append(value.data() + run, i - run);
    run = i + 1;
    if (control) {
      const char escape[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
      out.append(escape, 4);
    } else {
      const char escape[2] = {'\\', char(c)};
      out.append(escape, 2);
    }
  }
  out.append(value.data() + run, value.size() - run);
}

template <class Integer>
void append_number(std::string& out, Integer value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

void append_protocol(std::string& out, const Request& request) {
  out.append("HTTP/");
  append_number(out, request.http_major());
  out.push_back('.');
  append_number(out, request.http_minor());
}

// "ip:port" and "[ip]:port" lose the port, as REMOTE_ADDR has none; a unix socket path stays.
std::string_view remote_address(std::string_view peer) {
  if (peer.empty() || peer.front() == '/') return peer;
  if (peer.front() == '[') {
    std::size_t close = peer.find(']');
    return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
  }
  std::size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == peer.size()) return peer;
  for (char c : peer.substr(colon + 1)) {
    if (c < '0' || c > '9') return peer;
  }
  return peer.substr(0, colon);
}

std::size_t body_size(const RequestRecord& record) {
  std::string_view answer = record.answer;
  std::size_t end_of_head = answer.find("\r\n\r\n");
  std::size_t body = end_of_head == std::string_view::npos ? 0 : answer.size() - end_of_head - 4;
  return body + record.streamed_bytes;
}

// A header of the serialized answer, so that the server's own (Date, Content-Length, ...) are
// found as well as the app's.
std::optional<std::string_view> find_response_header(std::string_view answer,
                                                     std::string_view name) {
  std::size_t line_start = answer.find("\r\n");
  while (line_start != std::string_view::npos) {
    line_start += 2;
    std::size_t line_end = answer.find("\r\n", line_start);
    if (line_end == std::string_view::npos || line_end == line_start) return std::nullopt;
    std::string_view line = answer.substr(line_start, line_end - line_start);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      return value;
    }
    line_start = line_end;
  }
  return std::nullopt;
}

void append_value(std::string& out, std::optional<std::string_view> value) {
  if (value) {
    append_escaped(out, *value);
  } else {
    out.append(missing);
  }
}

using RequestField = std::string_view (Request::*)() const;

std::optional<std::string_view> request_field(const Request* request, RequestField field) {
  return request ? std::optional((request->*field)()) : std::nullopt;
}

void append_request_field(std::string& out, const Request* request, RequestField field) {
  append_value(out, request_field(request, field));
}

std::optional<std::string_view> find_request_header(const Request* request, std::string_view name) {
  if (request) {
    for (const Header& header : request->headers()) {
      if (iequals(header.name, name)) return header.value;
    }
  }
  return std::nullopt;
}

void append_request_header(std::string& out, const Request* request, std::string_view name) {
  append_value(out, find_request_header(request, name));
}

// Durations in whole microseconds, as gunicorn derives T, M, D and L from a timedelta.
long long microseconds(double seconds) {
  return seconds > 0 ? std::llround(seconds * 1e6) : 0;
}

void append_duration(std::string& out, AccessFormat::Atom atom, double seconds) {
  long long micro = microseconds(seconds);
  switch (atom) {
    case AccessFormat::Atom::seconds:
      append_number(out, micro / 1000000);
      return;
    case AccessFormat::Atom::milliseconds:
      append_number(out, micro / 1000);
      return;
    case AccessFormat::Atom::microseconds:
      append_number(out, micro);
      return;
    default: {
      char text[32];
      int size = std::snprintf(text, sizeof text, "%lld.%06lld", micro / 1000000, micro % 1000000);
      out.append(text, std::size_t(size));
    }
  }
}

std::optional<std::string_view> environment_value(const AccessFormat::Part& part) {
  return part.value ? std::optional<std::string_view>(*part.value) : std::nullopt;
}

// Writes one JSON object member by member; every string goes through append_json_escaped.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) {}

  void key(std::string_view name) {
    out_.push_back(first_ ? '{' : ',');
    first_ = false;
    append_json_string(out_, name);
    out_.push_back(':');
  }
  void null(std::string_view name) {
    key(name);
    out_.append("null");
  }
  void string(std::string_view name, std::optional<std::string_view> value) {
    if (!value) return null(name);
    key(name);
    append_json_string(out_, *value);
  }
  template <class Integer>
  void number(std::string_view name, Integer value) {
    key(name);
    append_number(out_, value);
  }
  void close() { out_.append(first_ ? "{}" : "}"); }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool first_ = true;
};

// The parts of kind as one object under name, each part's name once (a format may name a header
// twice; a JSON object must not); nothing when the format has none.
template <class ValueOf>
void append_named(JsonObject& outer, const std::vector<AccessFormat::Part>& parts,
                  std::string_view name, AccessFormat::Atom kind, ValueOf value_of) {
  auto named_before = [&](std::size_t index) {
    for (std::size_t i = 0; i < index; ++i) {
      if (parts[i].atom == kind && parts[i].text == parts[index].text) return true;
    }
    return false;
  };
  std::optional<JsonObject> inner;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].atom != kind || named_before(i)) continue;
    if (!inner) {
      outer.key(name);
      inner.emplace(outer.out());
    }
    inner->string(parts[i].text, value_of(parts[i]));
  }
  if (inner) inner->close();
}

}  // namespace

Status AccessFormat::compile(std::string_view format) {
  parts_.clear();
  pid_ = int(getpid());
  std::size_t i = 0;
  while (i < format.size()) {
    std::size_t percent = format.find('%', i);
    if (percent == std::string_view::npos) {
      add_literal(format.substr(i));
      break;
    }
    add_literal(format.substr(i, percent - i));
    std::string at = "access_log_format: at offset " + std::to_string(percent) + ": ";
    if (percent + 1 == format.size())
      return Status::error(at + "'%' ends the format (write %% for a percent sign)");
    if (format[percent + 1] == '%') {
      add_literal("%");
      i = percent + 2;
      continue;
    }
    if (format[percent + 1] != '(') return Status::error(at + "expected %(name)s or %%");
    // Parentheses nest inside the name, as in Python's %-formatting.
    std::size_t depth = 1, close = percent + 2;
    for (; close < format.size(); ++close) {
      if (format[close] == '(') ++depth;
      if (format[close] == ')' && --depth == 0) break;
    }
    if (close >= format.size()) return Status::error(at + "unterminated %(");
    if (close + 1 == format.size() || format[close + 1] != 's')
      return Status::error(at + "expected 's' after %(" +
                           std::string(format.substr(percent + 2, close - percent - 2)) + ")");
    add_atom(format.substr(percent + 2, close - percent - 2));
    i = close + 2;
  }
  return {};
}

void AccessFormat::add_literal(std::string_view text) {
  if (text.empty()) return;
  if (!parts_.empty() && parts_.back().atom == Atom::literal) {
    parts_.back().text.append(text);
    return;
  }
  parts_.push_back(Part{Atom::literal, std::string(text)});
}

void AccessFormat::add_atom(std::string_view name) {
  if (name.size() > 3 && name.front() == '{' && name[name.size() - 2] == '}') {
    std::string_view key = name.substr(1, name.size() - 3);
    switch (name.back()) {
      case 'i':
        parts_.push_back(Part{Atom::request_header, to_lower(key)});
        return;
      case 'o':
        parts_.push_back(Part{Atom::response_header, to_lower(key)});
        return;
      case 'e': {
        std::string variable(key);
        const char* value = std::getenv(variable.c_str());
        parts_.push_back(Part{Atom::environment, std::move(variable),
                              value ? std::optional<std::string>(value) : std::nullopt});
        return;
      }
      default:
        add_literal(missing);
        return;
    }
  }
  static constexpr std::pair<std::string_view, Atom> atoms[] = {
      {"h", Atom::remote_address}, {"t", Atom::timestamp},
      {"r", Atom::request_line},   {"m", Atom::method},
      {"U", Atom::path},           {"q", Atom::query},
      {"H", Atom::protocol},       {"s", Atom::status},
      {"B", Atom::body_bytes},     {"b", Atom::body_bytes_or_dash},
      {"f", Atom::referer},        {"a", Atom::user_agent},
      {"T", Atom::seconds},        {"M", Atom::milliseconds},
      {"D", Atom::microseconds},   {"L", Atom::seconds_decimal}};
  for (const auto& [atom_name, atom] : atoms) {
    if (name == atom_name) {
      parts_.push_back(Part{atom, {}});
      return;
    }
  }
  if (name == "p") {
    add_literal("<" + std::to_string(pid_) + ">");
    return;
  }
  // l (identd), u (remote user) and anything unknown.
  add_literal(missing);
}

void AccessFormat::append_line(std::string& out, const RequestRecord& record,
                               std::string_view timestamp) const {
  const Request* request = record.request;
  for (const Part& part : parts_) {
    switch (part.atom) {
      case Atom::literal:
        out.append(part.text);
        break;
      case Atom::remote_address: {
        std::string_view address = remote_address(record.peer);
        append_value(out, address.empty() ? std::nullopt : std::optional(address));
        break;
      }
      case Atom::timestamp:
        out.append(timestamp);
        break;
      case Atom::request_line:
        if (!request) {
          out.append(missing);
          break;
        }
        append_escaped(out, request->method());
        out.push_back(' ');
        append_escaped(out, request->target());
        out.push_back(' ');
        append_protocol(out, *request);
        break;
      case Atom::method:
        append_request_field(out, request, &Request::method);
        break;
      case Atom::path:
        append_request_field(out, request, &Request::path);
        break;
      case Atom::query:
        append_request_field(out, request, &Request::query);
        break;
      case Atom::protocol:
        if (request) {
          append_protocol(out, *request);
        } else {
          out.append(missing);
        }
        break;
      case Atom::status:
        append_number(out, record.status);
        break;
      case Atom::body_bytes:
        append_number(out, body_size(record));
        break;
      case Atom::body_bytes_or_dash: {
        std::size_t size = body_size(record);
        if (size == 0) {
          out.append(missing);
        } else {
          append_number(out, size);
        }
        break;
      }
      case Atom::referer:
        append_request_header(out, request, "referer");
        break;
      case Atom::user_agent:
        append_request_header(out, request, "user-agent");
        break;
      case Atom::seconds:
      case Atom::milliseconds:
      case Atom::microseconds:
      case Atom::seconds_decimal:
        append_duration(out, part.atom, record.duration_seconds);
        break;
      case Atom::request_header:
        append_request_header(out, request, part.text);
        break;
      case Atom::response_header:
        append_value(out, find_response_header(record.answer, part.text));
        break;
      case Atom::environment:
        append_value(out, environment_value(part));
        break;
    }
  }
  out.push_back('\n');
}

void AccessFormat::append_json(std::string& out, const RequestRecord& record, std::string_view time,
                               std::string_view message) const {
  const Request* request = record.request;
  JsonObject object(out);
  object.string("time", time);
  object.string("level", "info");
  object.string("logger", "prefork.access");
  object.number("pid", pid_);
  object.string("message", message);
  std::string_view address = remote_address(record.peer);
  object.string("remote_addr", address.empty() ? std::nullopt : std::optional(address));
  if (request) {
    object.key("request");
    out.push_back('"');
    append_json_escaped(out, request->method());
    out.push_back(' ');
    append_json_escaped(out, request->target());
    out.push_back(' ');
    append_protocol(out, *request);
    out.push_back('"');
  } else {
    object.null("request");
  }
  object.string("method", request_field(request, &Request::method));
  object.string("path", request_field(request, &Request::path));
  object.string("query", request_field(request, &Request::query));
  if (request) {
    object.key("protocol");
    out.push_back('"');
    append_protocol(out, *request);
    out.push_back('"');
  } else {
    object.null("protocol");
  }
  object.number("status", record.status);
  object.number("body_bytes", body_size(record));
  object.string("referer", find_request_header(request, "referer"));
  object.string("user_agent", find_request_header(request, "user-agent"));
  object.number("request_time_us", microseconds(record.duration_seconds));
  append_named(object, parts_, "request_headers", Atom::request_header,
               [&](const Part& part) { return find_request_header(request, part.text); });
  append_named(object, parts_, "response_headers", Atom::response_header,
               [&](const Part& part) { return find_response_header(record.answer, part.text); });
  append_named(object, parts_, "environment", Atom::environment, environment_value);
  object.close();
  out.push_back('\n');
}

std::string format_timestamp(long seconds_since_epoch) {
  time_t now = time_t(seconds_since_epoch);
  struct tm local;
  localtime_r(&now, &local);
  char text[64];
  std::size_t size = strftime(text, sizeof text, "[%d/%b/%Y:%H:%M:%S %z]", &local);
  return std::string(text, size);
}

}  // namespace prefork::worker
