#include "config/directives.hpp"

#include "config/bind.hpp"
#include "config/redis_url.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>

namespace prefork::config {
namespace {

// The shortest text that reads back as the same value (a double too), so that --print-config
// round-trips.
template <class Number>
std::string text_of(Number value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc() ? std::string(text, end) : std::string();
}

// A histogram bound as people write it, 0.0001 rather than 1e-04, where that is short enough.
std::string bound_text(double value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
  return error == std::errc() ? std::string(text, end) : text_of(value);
}

Status check_range(std::int64_t value, std::int64_t min, std::int64_t max) {
  if (value >= min && value <= max) return {};
  if (max == INT_MAX && min == 0)
    return Status::error("must not be negative, got " + text_of(value));
  if (max == INT_MAX)
    return Status::error("must be at least " + text_of(min) + ", got " + text_of(value));
  return Status::error("must be between " + text_of(min) + " and " + text_of(max) + ", got " +
                       text_of(value));
}

Status set_int(int& field, const Input& input, std::int64_t min, std::int64_t max = INT_MAX) {
  std::int64_t value = 0;
  if (Status status = read_integer(input, value); !status.ok()) return status;
  if (Status status = check_range(value, min, max); !status.ok()) return status;
  field = int(value);
  return {};
}

Status set_size(std::int64_t& field, const Input& input) {
  std::int64_t value = 0;
  if (Status status = read_integer(input, value); !status.ok()) return status;
  if (value < 0) return Status::error("must not be negative, got " + text_of(value));
  field = value;
  return {};
}

// zero_allowed: 0 means "disabled" for this timeout.
Status set_seconds(double& field, const Input& input, bool zero_allowed) {
  double value = 0;
  if (Status status = read_number(input, value); !status.ok()) return status;
  if (value < 0) return Status::error("must not be negative, got " + text_of(value));
  if (value == 0 && !zero_allowed) return Status::error("must be greater than 0, got 0");
  field = value;
  return {};
}

Status set_bool(bool& field, const Input& input) {
  return read_boolean(input, field);
}

Status set_string(std::string& field, const Input& input) {
  return read_string(input, field);
}

Status set_word(std::string& field, const Input& input, std::string_view what) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (value.empty())
    return Status::error(std::string("must not be empty (") + std::string(what) + ")");
  field = std::move(value);
  return {};
}

Status set_binds(Config& config, const Input& input) {
  std::vector<std::string> texts;
  if (Status status = read_strings(input, texts); !status.ok()) return status;
  if (texts.empty()) return Status::error("needs at least one address");
  std::vector<Bind> binds(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (Status status = parse_bind(texts[i], binds[i]); !status.ok()) return status;
  }
  config.binds = std::move(binds);
  return {};
}

// One of choices; the error names what is chosen and lists them.
Status set_choice(std::string& field, const Input& input, std::string_view what,
                  std::initializer_list<std::string_view> choices) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  std::string listed;
  for (std::string_view choice : choices) {
    if (value == choice) {
      field = value;
      return {};
    }
    listed += (listed.empty() ? "" : ", ") + std::string(choice);
  }
  return Status::error("unknown " + std::string(what) + " " + quoted(value) +
                       "; choices: " + listed);
}

Status set_loglevel(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  log::Level level;
  if (!log::parse_level(value, level)) {
    return Status::error("unknown log level " + quoted(value) +
                         "; choices: debug, info, warning, error, critical");
  }
  config.loglevel = value;
  return {};
}

// A TOML integer as TOML reads it (0o022 or 18); text as gunicorn's -m does ("022" is octal).
Status set_umask(Config& config, const Input& input) {
  std::int64_t value = 0;
  if (Status status = read_integer_in_any_base(input, value); !status.ok()) return status;
  if (value < 0 || value > 0777) {
    return Status::error(
        "expected a permission mask 0o000..0o777 (write it in octal, e.g. 0o022), got " +
        text_of(value));
  }
  config.umask = int(value);
  return {};
}

// Each entry "KEY=VALUE", as gunicorn's raw_env; the value may be empty or hold more '='.
Status set_raw_env(Config& config, const Input& input) {
  std::vector<std::string> entries;
  if (Status status = read_strings(input, entries); !status.ok()) return status;
  for (const std::string& entry : entries) {
    auto equals = entry.find('=');
    if (equals == std::string::npos)
      return Status::error("expected KEY=VALUE, got " + quoted(entry));
    if (equals == 0)
      return Status::error("expected KEY=VALUE, got " + quoted(entry) + ": the key is empty");
  }
  config.raw_env = std::move(entries);
  return {};
}

Status set_app(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  auto colon = value.rfind(':');
  if (!value.empty() && (colon == std::string::npos || colon == 0 || colon + 1 == value.size())) {
    return Status::error("expected \"path/libapp.so:name\", got " + quoted(value));
  }
  config.app = value;
  return {};
}

Status set_redis_url(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  RedisAddress address;
  if (!value.empty()) {
    if (Status status = parse_redis_url(value, address); !status.ok()) return status;
  }
  config.redis.url = value;
  return {};
}

// Certificates and keys are read later (when Redis is first connected, when the master makes
// its TLS contexts); a file that cannot be read is a configuration error now, naming it, rather
// than a fallback to files or a failure after the binds.
Status set_readable_file(std::string& field, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (!value.empty() && ::access(value.c_str(), R_OK) != 0)
    return Status::error("cannot read " + quoted(value) + ": " + std::strerror(errno));
  field = std::move(value);
  return {};
}

Status set_cert_reqs(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (value != "required" && value != "none") {
    return Status::error(
        "expected \"required\" (check the server's certificate) or \"none\", got " + quoted(value));
  }
  config.redis.ssl_cert_reqs = value;
  return {};
}

// A directory of CA certificates (hashed, as `openssl rehash` makes it), read when the metrics
// endpoint's TLS context is made: it must be a directory the master can list and read.
Status set_readable_dir(std::string& field, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (!value.empty()) {
    struct stat info {};
    if (::stat(value.c_str(), &info) == 0 && !S_ISDIR(info.st_mode))
      return Status::error("not a directory: " + quoted(value));
    if (::access(value.c_str(), R_OK | X_OK) != 0)
      return Status::error("cannot read directory " + quoted(value) + ": " + std::strerror(errno));
  }
  field = std::move(value);
  return {};
}

constexpr std::string_view client_certs_names[] = {"none", "optional", "required"};

// cert_reqs: a name, or gunicorn's integers (Python's ssl.CERT_NONE 0, CERT_OPTIONAL 1,
// CERT_REQUIRED 2), as a TOML integer or as text.
Status set_client_certs(Config& config, const Input& input) {
  constexpr const char* choices = "; choices: none, optional, required (or 0, 1, 2)";
  std::int64_t number = -1;
  if (input.type == Input::Type::integer) {
    number = input.integer;
    if (number < 0 || number > 2)
      return Status::error("unknown client certificate mode " + text_of(number) + choices);
  } else {
    std::string value;
    if (Status status = read_string(input, value); !status.ok()) return status;
    std::string word = to_lower(value);
    for (std::int64_t i = 0; i < 3; ++i) {
      if (word == client_certs_names[i] || word == text_of(i)) number = i;
    }
    if (number < 0)
      return Status::error("unknown client certificate mode " + quoted(value) + choices);
  }
  config.tls.cert_reqs = Tls::ClientCerts(number);
  return {};
}

// ssl_min_version: OpenSSL's spelling ("TLSv1.2", as openssl s_client and nginx write it) or
// Python's ssl.TLSVersion name ("TLSv1_2"), in any case. Nothing below TLS 1.2 is offered.
Status set_min_version(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  std::string word = to_lower(value);
  std::replace(word.begin(), word.end(), '_', '.');
  if (word == "tlsv1.2") {
    config.tls.min_version = 0x0303;
  } else if (word == "tlsv1.3") {
    config.tls.min_version = 0x0304;
  } else if (word == "tlsv1" || word == "tlsv1.0" || word == "tlsv1.1" || word == "sslv2" ||
             word == "sslv3" || word == "sslv23" || word == "minimum.supported") {
    return Status::error(quoted(value) +
                         " is below TLS 1.2, which prefork never offers; choices: TLSv1.2, "
                         "TLSv1.3");
  } else {
    return Status::error("unknown TLS version " + quoted(value) + "; choices: TLSv1.2, TLSv1.3");
  }
  return {};
}

// "a, b,c" → {"a", "b", "c"}; empty parts are dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    std::string part = text.substr(start, comma - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) parts.push_back(std::move(part));
    start = comma + 1;
  }
  return parts;
}

// A list in the environment or on the command line is one text, comma-separated.
Status set_hosts(std::vector<std::string>& field, const Input& input) {
  std::vector<std::string> texts;
  if (Status status = read_strings(input, texts); !status.ok()) return status;
  if (input.type == Input::Type::text) texts = split_list(input.string);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    RedisAddress address;
    if (Status status = parse_host_port(texts[i], address); !status.ok()) {
      return Status::error("element " + std::to_string(i + 1) + " (" + quoted(texts[i]) +
                           "): " + status.message());
    }
  }
  field = std::move(texts);
  return {};
}

Status set_ip_address(std::string& field, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (!is_ip_address(value))
    return Status::error("expected an IPv4 or IPv6 address, got " + quoted(value));
  field = value;
  return {};
}

// forwarded_allow_ips, proxy_allow_ips: "*", addresses and CIDR networks, comma-separated (a
// TOML array of them too).
Status set_allow_list(IpAllowList& field, const Input& input) {
  std::vector<std::string> texts;
  if (Status status = read_strings(input, texts); !status.ok()) return status;
  IpAllowList list;
  for (const std::string& text : texts) {
    for (const std::string& entry : split_list(text)) {
      if (Status status = list.add(entry); !status.ok()) return status;
    }
  }
  field = std::move(list);
  return {};
}

// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A TOML table of header name → value, as gunicorn's dict; names are kept upper case and sorted.
Status set_scheme_headers(Config& config, const Input& input) {
  if (input.type != Input::Type::table) {
    return Status::error(std::string("expected a table of header names and values, e.g. ") +
                         "{ \"X-FORWARDED-PROTO\" = \"https\" }, got " + describe(input.type));
  }
  std::vector<SchemeHeader> headers;
  for (const auto& [name, value] : input.entries) {
    if (!is_token(name)) return Status::error("not a header name: " + quoted(name));
    if (value.type != Input::Type::string) {
      return Status::error(quoted(name) + ": expected a string, got " + describe(value.type));
    }
    std::string upper = name;
    for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    for (const SchemeHeader& seen : headers) {
      if (seen.name == upper) return Status::error("header " + quoted(upper) + " given twice");
    }
    headers.push_back({upper, value.string});
  }
  std::sort(headers.begin(), headers.end(),
            [](const SchemeHeader& a, const SchemeHeader& b) { return a.name < b.name; });
  config.secure_scheme_headers = std::move(headers);
  return {};
}

bool is_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

Status set_metric_prefix(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (!is_metric_name(value)) {
    return Status::error(
        "expected a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got " +
        quoted(value));
  }
  config.metrics.prefix = value;
  return {};
}

// Histogram bounds: a non-empty TOML array of finite numbers, each greater than the one before
// (prometheus_client's rule) and none negative (durations and sizes are not). +Inf is added by
// the histogram.
Status set_buckets(std::vector<double>& field, const Input& input) {
  if (input.type != Input::Type::array) {
    return Status::error(
        std::string("expected an array of numbers, e.g. [0.001, 0.01, 0.1], got ") +
        describe(input.type));
  }
  if (input.items.empty()) return Status::error("must not be empty: a histogram needs a bound");
  std::vector<double> bounds;
  for (std::size_t i = 0; i < input.items.size(); ++i) {
    const Input& item = input.items[i];
    std::string element = "element " + std::to_string(i + 1);
    if (item.type == Input::Type::number && item.number == INFINITY)
      return Status::error(element + ": +Inf is added by itself, leave it out");
    double bound = 0;
    if (Status status = read_number(item, bound); !status.ok())
      return Status::error(element + ": " + status.message());
    if (bound < 0)
      return Status::error(element + ": must not be negative, got " + bound_text(bound));
    if (!bounds.empty() && bound <= bounds.back()) {
      return Status::error(element + " (" + bound_text(bound) + "): must be greater than element " +
                           std::to_string(i) + " (" + bound_text(bounds.back()) +
                           "): bounds go up strictly");
    }
    bounds.push_back(bound);
  }
  field = std::move(bounds);
  return {};
}

// The instance becomes part of Redis keys ("{instance}-{pid}"), where ':' separates fields
// and, in a cluster, braces mark the hash tag.
Status set_instance(Config& config, const Input& input) {
  std::string value;
  if (Status status = read_string(input, value); !status.ok()) return status;
  if (value.find_first_of(":{} \t\n") != std::string::npos) {
    return Status::error(
        "must not contain ':', '{', '}' or whitespace (it becomes part of Redis keys), got " +
        quoted(value));
  }
  config.metrics.instance = value;
  return {};
}

constexpr std::string_view unset_text = "none";
constexpr std::string_view cpu_count_text = "number of CPUs";
constexpr std::string_view temp_dir_text = "a private temp dir";

// A setting's value as a user would write it; the help text and the README print the value of
// a default Config, so that each default is written once, in config.hpp.
std::string shown(bool value) {
  return value ? "true" : "false";
}

std::string shown(const std::string& value) {
  return value.empty() ? std::string(unset_text) : quoted(value);
}

std::string shown(const std::vector<std::string>& values) {
  if (values.empty()) return std::string(unset_text);
  std::string text;
  for (const std::string& value : values) text += (text.empty() ? "" : ", ") + quoted(value);
  return "[" + text + "]";
}

// A TOML array of numbers.
std::string shown(const std::vector<double>& values) {
  std::string text;
  for (double value : values) text += (text.empty() ? "" : ", ") + bound_text(value);
  return "[" + text + "]";
}

std::string shown(const IpAllowList& list) {
  return quoted(list.text());
}

// A TOML inline table.
std::string shown(const std::vector<SchemeHeader>& headers) {
  if (headers.empty()) return "{}";
  std::string text;
  for (const SchemeHeader& header : headers) {
    text += (text.empty() ? "" : ", ") + quoted(header.name) + " = " + quoted(header.value);
  }
  return "{ " + text + " }";
}

template <class Number>
std::string shown(Number value) {
  return text_of(value);
}

template <auto field>
std::string show(const Config& config) {
  return shown(config.*field);
}

template <auto group, auto field>
std::string show_in(const Config& config) {
  return shown(config.*group.*field);
}

std::string show_binds(const Config& config) {
  std::string text;
  for (const Bind& bind : config.binds) text += (text.empty() ? "" : ", ") + quoted(bind.text);
  return config.binds.size() == 1 ? text : "[" + text + "]";
}

std::string show_workers(const Config& config) {
  return config.workers == 0 ? std::string(cpu_count_text) : shown(config.workers);
}

std::string show_umask(const Config& config) {
  char text[16];
  std::snprintf(text, sizeof text, "0o%03o", unsigned(config.umask));
  return text;
}

std::string show_multiproc_dir(const Config& config) {
  return config.metrics.multiproc_dir.empty() ? std::string(temp_dir_text)
                                              : quoted(config.metrics.multiproc_dir);
}

std::string show_cert_reqs(const Config& config) {
  return quoted(std::string(client_certs_names[int(config.tls.cert_reqs)]));
}

std::string show_min_version(const Config& config) {
  return config.tls.min_version == 0x0304 ? "\"TLSv1.3\"" : "\"TLSv1.2\"";
}

// clang-format off
constexpr Directive table[] = {
  {"", "", "config", 'c', "FILE", false, show<&Config::config_file>, "the TOML configuration file",
   [](Config& c, const Input& in) { return set_string(c.config_file, in); }},
  {"bind", "", "bind", 'b', "ADDR", true, show_binds,
   "addresses to listen on: HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N, each optionally "
   "after http:// or https:// (README, \"HTTPS\"); a string or an array",
   set_binds},
  {"workers", "GUNICORN_WORKERS", "workers", 'w', "N", false, show_workers,
   "worker processes",
   [](Config& c, const Input& in) { return set_int(c.workers, in, 1); }},
  {"worker_class", "", "worker-class", 'k', "CLASS", false, show<&Config::worker_class>,
   "uv (handlers run on the worker's event loop) or threads (handlers run on a thread pool)",
   [](Config& c, const Input& in) {
     return set_choice(c.worker_class, in, "worker class", {"uv", "threads"});
   }},
  {"threads", "", "threads", 0, "N", false, show<&Config::threads>,
   "handler threads per worker (worker_class threads)",
   [](Config& c, const Input& in) { return set_int(c.threads, in, 1); }},
  {"worker_connections", "", "worker-connections", 0, "N", false, show<&Config::worker_connections>,
   "open connections per worker at most",
   [](Config& c, const Input& in) { return set_int(c.worker_connections, in, 1); }},
  {"timeout", "GUNICORN_TIMEOUT", "timeout", 't', "SECONDS", false, show<&Config::timeout>,
   "a worker silent this long is killed and replaced; 0 disables",
   [](Config& c, const Input& in) { return set_seconds(c.timeout, in, true); }},
  {"graceful_timeout", "", "graceful-timeout", 0, "SECONDS", false, show<&Config::graceful_timeout>,
   "time for in-flight requests at graceful stop, then SIGKILL",
   [](Config& c, const Input& in) { return set_seconds(c.graceful_timeout, in, true); }},
  {"keepalive", "GUNICORN_KEEPALIVE", "keep-alive", 0, "SECONDS", false, show<&Config::keepalive>,
   "idle keep-alive connection timeout; 0 disables keep-alive",
   [](Config& c, const Input& in) { return set_seconds(c.keepalive, in, true); }},
  {"max_requests", "", "max-requests", 0, "N", false, show<&Config::max_requests>,
   "restart a worker after this many requests; 0 disables",
   [](Config& c, const Input& in) { return set_int(c.max_requests, in, 0); }},
  {"max_requests_jitter", "", "max-requests-jitter", 0, "N", false,
   show<&Config::max_requests_jitter>,
   "add a random 0..N to max_requests per worker",
   [](Config& c, const Input& in) { return set_int(c.max_requests_jitter, in, 0); }},
  {"backlog", "", "backlog", 0, "N", false, show<&Config::backlog>, "listen() backlog",
   [](Config& c, const Input& in) { return set_int(c.backlog, in, 1); }},
  {"reuse_port", "", "reuse-port", 0, "", false, show<&Config::reuse_port>,
   "each worker gets its own SO_REUSEPORT socket",
   [](Config& c, const Input& in) { return set_bool(c.reuse_port, in); }},
  {"preload_app", "", "preload", 0, "", false, show<&Config::preload_app>,
   "load the app in the master before fork",
   [](Config& c, const Input& in) { return set_bool(c.preload_app, in); }},
  {"reload", "", "reload", 0, "", false, show<&Config::reload>,
   "development: reload (as HUP) when the app's .so or a reload_extra_files entry changes; not "
   "with preload_app",
   [](Config& c, const Input& in) { return set_bool(c.reload, in); }},
  {"reload_extra_files", "", "reload-extra-file", 0, "FILE", true,
   show<&Config::reload_extra_files>,
   "more files whose change reloads, with reload; a string or an array",
   [](Config& c, const Input& in) { return read_strings(in, c.reload_extra_files); }},
  {"app", "", "app", 0, "SPEC", false, show<&Config::app>,
   "the app to serve: \"path/libapp.so:name\"",
   set_app},
  {"pidfile", "", "pid", 'p', "FILE", false, show<&Config::pidfile>,
   "write the master's pid to this file",
   [](Config& c, const Input& in) { return set_string(c.pidfile, in); }},
  {"user", "", "user", 'u', "USER", false, show<&Config::user>,
   "switch worker processes to this user",
   [](Config& c, const Input& in) { return set_string(c.user, in); }},
  {"group", "", "group", 'g', "GROUP", false, show<&Config::group>,
   "switch worker processes to this group",
   [](Config& c, const Input& in) { return set_string(c.group, in); }},
  {"umask", "", "umask", 'm', "INT", false, show_umask,
   "umask of worker processes: 0o22 or 022 (octal), 0x12, 18",
   set_umask},
  {"chdir", "", "chdir", 0, "DIR", false, show<&Config::chdir>,
   "change to this directory before loading the app",
   [](Config& c, const Input& in) { return set_string(c.chdir, in); }},
  {"raw_env", "", "env", 'e', "KEY=VALUE", true, show<&Config::raw_env>,
   "set an environment variable of the master, its workers and the app (a TOML array)",
   set_raw_env},
  {"daemon", "", "daemon", 'D', "", false, show<&Config::daemon>,
   "detach from the terminal at start, before on_starting and binding; the first process exits 0 "
   "when the master serves, 1 if it fails first",
   [](Config& c, const Input& in) { return set_bool(c.daemon, in); }},
  {"proc_name", "", "name", 'n', "NAME", false, show<&Config::proc_name>,
   "process titles: prefork: master [NAME], prefork: worker [NAME]",
   [](Config& c, const Input& in) { return set_word(c.proc_name, in, "a process title name"); }},
  {"loglevel", "", "log-level", 0, "LEVEL", false, show<&Config::loglevel>,
   "debug, info, warning, error or critical", set_loglevel},
  {"errorlog", "", "error-logfile", 0, "FILE", false, show<&Config::errorlog>,
   "error log file; \"-\" is stderr",
   [](Config& c, const Input& in) { return set_word(c.errorlog, in, "\"-\" is stderr"); },
   "log-file"},
  {"accesslog", "", "access-logfile", 0, "FILE", false, show<&Config::accesslog>,
   "access log file; \"-\" is stdout; none disables",
   [](Config& c, const Input& in) { return set_string(c.accesslog, in); }},
  {"access_log_format", "", "access-logformat", 0, "FORMAT", false,
   show<&Config::access_log_format>,
   "access log line with gunicorn's atoms",
   [](Config& c, const Input& in) { return set_word(c.access_log_format, in, "a format"); }},
  {"log_format", "", "log-format", 0, "FORMAT", false, show<&Config::log_format>,
   "error and access log lines: text (gunicorn's) or json (one JSON object a line)",
   [](Config& c, const Input& in) {
     return set_choice(c.log_format, in, "log format", {"text", "json"});
   }},
  {"limit_request_line", "", "limit-request-line", 0, "BYTES", false,
   show_in<&Config::limits, &Limits::request_line>,
   "longest request line (414 beyond); 0 = unlimited",
   [](Config& c, const Input& in) { return set_int(c.limits.request_line, in, 0); }},
  {"limit_request_fields", "", "limit-request-fields", 0, "N", false,
   show_in<&Config::limits, &Limits::request_fields>,
   "most header fields per request (431 beyond)",
   [](Config& c, const Input& in) { return set_int(c.limits.request_fields, in, 0); }},
  {"limit_request_field_size", "", "limit-request-field-size", 0, "BYTES", false,
   show_in<&Config::limits, &Limits::request_field_size>,
   "longest header field (431 beyond); 0 = unlimited",
   [](Config& c, const Input& in) { return set_int(c.limits.request_field_size, in, 0); }},
  {"max_body_size", "", "max-body-size", 0, "BYTES", false,
   show_in<&Config::limits, &Limits::max_body_size>,
   "largest request body (413 beyond); 0 = unlimited",
   [](Config& c, const Input& in) { return set_size(c.limits.max_body_size, in); }},
  {"header_timeout", "", "", 0, "", false, show_in<&Config::limits, &Limits::header_timeout>,
   "seconds to receive a whole request head",
   [](Config& c, const Input& in) { return set_seconds(c.limits.header_timeout, in, false); }},
  {"body_timeout", "", "", 0, "", false, show_in<&Config::limits, &Limits::body_timeout>,
   "seconds without progress while reading a request body, or writing an answer to a client "
   "that does not read it",
   [](Config& c, const Input& in) { return set_seconds(c.limits.body_timeout, in, false); }},
  {"forwarded_allow_ips", "FORWARDED_ALLOW_IPS", "forwarded-allow-ips", 0, "STRING", false,
   show<&Config::forwarded_allow_ips>,
   "front ends (IP addresses, CIDR networks, or *; comma-separated) whose X-Forwarded-For and "
   "secure scheme headers are trusted; unix socket peers always are",
   [](Config& c, const Input& in) { return set_allow_list(c.forwarded_allow_ips, in); }},
  {"secure_scheme_headers", "", "", 0, "", false, show<&Config::secure_scheme_headers>,
   "a header and value (TOML table) by which a trusted front end says the client used https",
   set_scheme_headers},
  {"proxy_protocol", "", "proxy-protocol", 0, "", false, show<&Config::proxy_protocol>,
   "connections from proxy_allow_ips start with a PROXY protocol header (v1 or v2)",
   [](Config& c, const Input& in) { return set_bool(c.proxy_protocol, in); }},
  {"proxy_allow_ips", "", "proxy-allow-from", 0, "STRING", false, show<&Config::proxy_allow_ips>,
   "front ends (IP addresses, CIDR networks, or *; comma-separated) that must send a PROXY "
   "header when proxy_protocol is on; unix socket peers always do",
   [](Config& c, const Input& in) { return set_allow_list(c.proxy_allow_ips, in); }},

  {"certfile", "", "certfile", 0, "FILE", false, show_in<&Config::tls, &Tls::certfile>,
   "TLS certificate chain (PEM); set, every listener speaks TLS unless binds name a scheme "
   "(README, \"HTTPS\")",
   [](Config& c, const Input& in) { return set_readable_file(c.tls.certfile, in); }},
  {"keyfile", "", "keyfile", 0, "FILE", false, show_in<&Config::tls, &Tls::keyfile>,
   "TLS private key (PEM, no passphrase); none = in the certificate file",
   [](Config& c, const Input& in) { return set_readable_file(c.tls.keyfile, in); }},
  {"ca_certs", "", "ca-certs", 0, "FILE", false, show_in<&Config::tls, &Tls::ca_certs>,
   "CA certificates (PEM) that client certificates must chain to",
   [](Config& c, const Input& in) { return set_readable_file(c.tls.ca_certs, in); }},
  {"cert_reqs", "", "cert-reqs", 0, "MODE", false, show_cert_reqs,
   "client certificates: none (not asked for), optional (checked when sent), required; or 0, 1, 2",
   set_client_certs},
  {"ciphers", "", "ciphers", 0, "CIPHERS", false, show_in<&Config::tls, &Tls::ciphers>,
   "TLS 1.2 cipher list (OpenSSL format); none = OpenSSL's default",
   [](Config& c, const Input& in) { return set_string(c.tls.ciphers, in); }},
  {"ciphersuites", "", "ciphersuites", 0, "SUITES", false,
   show_in<&Config::tls, &Tls::ciphersuites>,
   "TLS 1.3 cipher suites (OpenSSL format); none = OpenSSL's default",
   [](Config& c, const Input& in) { return set_string(c.tls.ciphersuites, in); }},
  {"ssl_min_version", "", "ssl-min-version", 0, "VERSION", false, show_min_version,
   "the lowest TLS version offered: TLSv1.2 or TLSv1.3", set_min_version},
  {"do_handshake_on_connect", "", "do-handshake-on-connect", 0, "", false,
   show_in<&Config::tls, &Tls::do_handshake_on_connect>,
   "accepted for gunicorn; no effect (the handshake runs as the client's bytes arrive)",
   [](Config& c, const Input& in) { return set_bool(c.tls.do_handshake_on_connect, in); }},

  {"redis.enabled", "REDIS_ENABLED", "", 0, "", false, show_in<&Config::redis, &Redis::enabled>,
   "store metrics in Redis instead of files",
   [](Config& c, const Input& in) { return set_bool(c.redis.enabled, in); }},
  {"redis.host", "REDIS_HOST", "", 0, "", false, show_in<&Config::redis, &Redis::host>,
   "Redis host",
   [](Config& c, const Input& in) { return set_word(c.redis.host, in, "a host name"); }},
  {"redis.port", "REDIS_PORT", "", 0, "", false, show_in<&Config::redis, &Redis::port>,
   "Redis port",
   [](Config& c, const Input& in) { return set_int(c.redis.port, in, 1, 65535); }},
  {"redis.db", "REDIS_DB", "", 0, "", false, show_in<&Config::redis, &Redis::db>,
   "Redis database number",
   [](Config& c, const Input& in) { return set_int(c.redis.db, in, 0); }},
  {"redis.key_prefix", "REDIS_KEY_PREFIX", "", 0, "", false,
   show_in<&Config::redis, &Redis::key_prefix>,
   "prefix of every Redis key",
   [](Config& c, const Input& in) { return set_word(c.redis.key_prefix, in, "a key prefix"); }},
  {"redis.ttl_seconds", "REDIS_TTL_SECONDS", "", 0, "", false,
   show_in<&Config::redis, &Redis::ttl_seconds>,
   "expiry of metric keys; live processes refresh it; 0 = keys never expire",
   [](Config& c, const Input& in) { return set_int(c.redis.ttl_seconds, in, 0); }},
  {"redis.ttl_disabled", "REDIS_TTL_DISABLED", "", 0, "", false,
   show_in<&Config::redis, &Redis::ttl_disabled>,
   "metric keys never expire (ttl_seconds is not used)",
   [](Config& c, const Input& in) { return set_bool(c.redis.ttl_disabled, in); }},
  {"redis.username", "REDIS_USERNAME", "", 0, "", false, show_in<&Config::redis, &Redis::username>,
   "Redis ACL user (AUTH USER PASSWORD)",
   [](Config& c, const Input& in) { return set_string(c.redis.username, in); }},
  {"redis.password", "REDIS_PASSWORD", "", 0, "", false, show_in<&Config::redis, &Redis::password>,
   "Redis AUTH password",
   [](Config& c, const Input& in) { return set_string(c.redis.password, in); }},
  {"redis.ssl", "REDIS_SSL", "", 0, "", false, show_in<&Config::redis, &Redis::ssl>,
   "TLS to Redis (as a rediss:// URL does)",
   [](Config& c, const Input& in) { return set_bool(c.redis.ssl, in); }},
  {"redis.ssl_ca_certs", "REDIS_SSL_CA_CERTS", "", 0, "", false,
   show_in<&Config::redis, &Redis::ssl_ca_certs>,
   "CA certificates (PEM) that sign Redis' certificate; none = the system's",
   [](Config& c, const Input& in) { return set_readable_file(c.redis.ssl_ca_certs, in); }},
  {"redis.ssl_certfile", "REDIS_SSL_CERTFILE", "", 0, "", false,
   show_in<&Config::redis, &Redis::ssl_certfile>,
   "client certificate (PEM) for a Redis that requires one",
   [](Config& c, const Input& in) { return set_readable_file(c.redis.ssl_certfile, in); }},
  {"redis.ssl_keyfile", "REDIS_SSL_KEYFILE", "", 0, "", false,
   show_in<&Config::redis, &Redis::ssl_keyfile>,
   "key of the client certificate; none = in the certificate file",
   [](Config& c, const Input& in) { return set_readable_file(c.redis.ssl_keyfile, in); }},
  {"redis.ssl_cert_reqs", "REDIS_SSL_CERT_REQS", "", 0, "", false,
   show_in<&Config::redis, &Redis::ssl_cert_reqs>,
   "required (check Redis' certificate) or none", set_cert_reqs},
  {"redis.ssl_check_hostname", "REDIS_SSL_CHECK_HOSTNAME", "", 0, "", false,
   show_in<&Config::redis, &Redis::ssl_check_hostname>,
   "check that Redis' certificate names the host (or IP address) connected to",
   [](Config& c, const Input& in) { return set_bool(c.redis.ssl_check_hostname, in); }},
  {"redis.url", "PROMETHEUS_REDIS_URL", "", 0, "", false, show_in<&Config::redis, &Redis::url>,
   "redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]; wins over host, port, db, user and password",
   set_redis_url},
  {"redis.sentinels", "REDIS_SENTINELS", "", 0, "", false,
   show_in<&Config::redis, &Redis::sentinels>,
   "Sentinel: \"host:port\" of each sentinel (comma-separated in the environment); the master's "
   "address is asked of them, host and port are not used",
   [](Config& c, const Input& in) { return set_hosts(c.redis.sentinels, in); }},
  {"redis.sentinel_master", "REDIS_SENTINEL_MASTER", "", 0, "", false,
   show_in<&Config::redis, &Redis::sentinel_master>, "the master name the sentinels monitor",
   [](Config& c, const Input& in) { return set_word(c.redis.sentinel_master, in, "a name"); }},
  {"redis.sentinel_password", "REDIS_SENTINEL_PASSWORD", "", 0, "", false,
   show_in<&Config::redis, &Redis::sentinel_password>, "the sentinels' password (requirepass)",
   [](Config& c, const Input& in) { return set_string(c.redis.sentinel_password, in); }},
  {"redis.cluster_nodes", "REDIS_CLUSTER_NODES", "", 0, "", false,
   show_in<&Config::redis, &Redis::cluster_nodes>,
   "Cluster: \"host:port\" of some of its nodes (comma-separated in the environment); the "
   "slot map is asked of them, host and port are not used",
   [](Config& c, const Input& in) { return set_hosts(c.redis.cluster_nodes, in); }},
  {"redis.connect_timeout", "", "", 0, "", false, show_in<&Config::redis, &Redis::connect_timeout>,
   "seconds to connect to Redis",
   [](Config& c, const Input& in) { return set_seconds(c.redis.connect_timeout, in, false); }},
  {"redis.command_timeout", "", "", 0, "", false, show_in<&Config::redis, &Redis::command_timeout>,
   "seconds to wait for a Redis reply",
   [](Config& c, const Input& in) { return set_seconds(c.redis.command_timeout, in, false); }},
  {"redis.debug", "REDIS_DEBUG", "", 0, "", false, show_in<&Config::redis, &Redis::debug>,
   "log Redis storage details",
   [](Config& c, const Input& in) { return set_bool(c.redis.debug, in); }},

  {"metrics.enabled", "", "", 0, "", false, show_in<&Config::metrics, &Metrics::enabled>,
   "record and serve metrics",
   [](Config& c, const Input& in) { return set_bool(c.metrics.enabled, in); }},
  {"metrics.bind_address", "PROMETHEUS_BIND_ADDRESS", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::bind_address>,
   "address of the master's /metrics endpoint",
   [](Config& c, const Input& in) { return set_ip_address(c.metrics.bind_address, in); }},
  {"metrics.port", "PROMETHEUS_METRICS_PORT", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::port>,
   "port of the /metrics endpoint; 0 = a free port",
   [](Config& c, const Input& in) { return set_int(c.metrics.port, in, 0, 65535); }},
  {"metrics.multiproc_dir", "PROMETHEUS_MULTIPROC_DIR", "", 0, "", false, show_multiproc_dir,
   "directory of the .db files when Redis is off",
   [](Config& c, const Input& in) { return set_string(c.metrics.multiproc_dir, in); }},
  {"metrics.cleanup_db_files", "CLEANUP_DB_FILES", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::cleanup_db_files>,
   "a dead worker's .db files are folded into archive files and removed; false keeps them, as "
   "prometheus_client does",
   [](Config& c, const Input& in) { return set_bool(c.metrics.cleanup_db_files, in); }},
  {"metrics.flush_interval_ms", "", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::flush_interval_ms>,
   "how often workers write changed values to Redis",
   [](Config& c, const Input& in) { return set_int(c.metrics.flush_interval_ms, in, 1); }},
  {"metrics.scrape_timeout", "", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::scrape_timeout>,
   "seconds /metrics waits for the storage before it answers 503",
   [](Config& c, const Input& in) { return set_seconds(c.metrics.scrape_timeout, in, false); }},
  {"metrics.instance", "", "", 0, "", false, show_in<&Config::metrics, &Metrics::instance>,
   "distinguishes instances sharing one Redis: keys use INSTANCE-PID", set_instance},
  {"metrics.scope", "", "", 0, "", false, show_in<&Config::metrics, &Metrics::scope>,
   "instance: /metrics serves this instance's series; fleet: every instance's on the Redis, "
   "labelled instance",
   [](Config& c, const Input& in) {
     return set_choice(c.metrics.scope, in, "metrics scope", {"instance", "fleet"});
   }},
  {"metrics.prefix", "", "", 0, "", false, show_in<&Config::metrics, &Metrics::prefix>,
   "name prefix of the built-in metrics",
   set_metric_prefix},
  {"metrics.duration_buckets", "", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::duration_buckets>,
   "bounds (seconds) of the request duration histogram; +Inf is added",
   [](Config& c, const Input& in) { return set_buckets(c.metrics.duration_buckets, in); }},
  {"metrics.size_buckets", "", "", 0, "", false, show_in<&Config::metrics, &Metrics::size_buckets>,
   "bounds (bytes) of the request and response size histograms; +Inf is added",
   [](Config& c, const Input& in) { return set_buckets(c.metrics.size_buckets, in); }},
  {"metrics.debug", "PROMETHEUS_DEBUG", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::debug>, "log metrics details",
   [](Config& c, const Input& in) { return set_bool(c.metrics.debug, in); }},
  {"metrics.ssl_certfile", "PROMETHEUS_SSL_CERTFILE", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::ssl_certfile>,
   "certificate chain (PEM) of the /metrics endpoint; with ssl_keyfile, it speaks HTTPS",
   [](Config& c, const Input& in) { return set_readable_file(c.metrics.ssl_certfile, in); }},
  {"metrics.ssl_keyfile", "PROMETHEUS_SSL_KEYFILE", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::ssl_keyfile>,
   "private key (PEM, no passphrase) of the /metrics endpoint's certificate",
   [](Config& c, const Input& in) { return set_readable_file(c.metrics.ssl_keyfile, in); }},
  {"metrics.ssl_client_cafile", "PROMETHEUS_SSL_CLIENT_CAFILE", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::ssl_client_cafile>,
   "CA certificates (PEM) that scrapers' certificates must chain to",
   [](Config& c, const Input& in) { return set_readable_file(c.metrics.ssl_client_cafile, in); }},
  {"metrics.ssl_client_capath", "PROMETHEUS_SSL_CLIENT_CAPATH", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::ssl_client_capath>,
   "a directory of CA certificates (hashed: openssl rehash) for scrapers' certificates",
   [](Config& c, const Input& in) { return set_readable_dir(c.metrics.ssl_client_capath, in); }},
  {"metrics.ssl_client_auth_required", "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED", "", 0, "", false,
   show_in<&Config::metrics, &Metrics::ssl_client_auth_required>,
   "a scraper must present a certificate from those CAs (the system's when none is set)",
   [](Config& c, const Input& in) { return set_bool(c.metrics.ssl_client_auth_required, in); }},

  {"", "", "check-config", 0, "", false, show<&Config::check_only>,
   "check the configuration and exit",
   [](Config& c, const Input& in) { return set_bool(c.check_only, in); }},
  {"", "", "print-config", 0, "", false, show<&Config::print_config>,
   "print the effective configuration (TOML, Redis passwords hidden) and exit",
   [](Config& c, const Input& in) { return set_bool(c.print_config, in); }},
  {"", "", "metrics-only", 0, "", false, show<&Config::metrics_only>,
   "serve only /metrics and /health from the storage, no workers (also: prefork metrics)",
   [](Config& c, const Input& in) { return set_bool(c.metrics_only, in); }},
};
// clang-format on

}  // namespace

std::span<const Directive> directives() {
  return table;
}

std::string default_text(const Directive& directive) {
  const Config defaults;
  return directive.show(defaults);
}

bool is_description(std::string_view shown) {
  return shown == unset_text || shown == cpu_count_text || shown == temp_dir_text;
}

const Directive* find_by_key(std::string_view key) {
  if (key.empty()) return nullptr;
  for (const Directive& directive : table) {
    if (directive.key == key) return &directive;
  }
  return nullptr;
}

const Directive* find_by_flag(std::string_view flag) {
  if (flag.empty()) return nullptr;
  for (const Directive& directive : table) {
    if (directive.flag == flag || directive.alias == flag) return &directive;
  }
  return nullptr;
}

const Directive* find_by_short_flag(char flag) {
  if (flag == 0) return nullptr;
  for (const Directive& directive : table) {
    if (directive.short_flag == flag) return &directive;
  }
  return nullptr;
}

}  // namespace prefork::config
