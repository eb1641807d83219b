// Makes the TLS contexts of a configuration (tls_setup.hpp); the options are tls_options.cpp's.
#include "master/tls_setup.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace prefork::master {
namespace {

struct NamedFile {
  std::string_view key;                   // the configuration key, as the user writes it
  std::array<std::string_view, 3> words;  // how ServerContext may name the file ("" = none)
  const std::string& path;
};

bool starts_with_word(const std::string& message, std::string_view word) {
  return message.size() > word.size() && message.compare(0, word.size(), word) == 0 &&
         (message[word.size()] == ' ' || message[word.size()] == ':');
}

// ServerContext's message names the file it could not use in its own words ("certfile /x: no
// start line"). Put the key of that file in front, so that the user knows which setting to fix:
// the file the message starts with, else the first whose path it contains. For the app, whose
// keys are mostly ServerContext's words, a message that starts with the key is kept as it is.
// A message that names no configured file (a cipher list OpenSSL refused) gets `fallback`.
std::string with_key(const std::string& message, std::initializer_list<NamedFile> files,
                     std::string_view fallback, bool keep_own_key) {
  const NamedFile* found = nullptr;
  for (const NamedFile& file : files) {
    if (file.path.empty() || message.find(file.path) == std::string::npos) continue;
    bool starts = std::any_of(file.words.begin(), file.words.end(), [&](std::string_view word) {
      return !word.empty() && starts_with_word(message, word);
    });
    if (starts) {
      found = &file;
      break;
    }
    if (!found) found = &file;
  }
  if (!found) return std::string(fallback) + message;
  if (keep_own_key && starts_with_word(message, found->key)) return message;
  return std::string(found->key) + ": " + message;
}

}  // namespace

Result<TlsContexts> load_tls(const config::Config& config) {
  TlsContexts contexts;
  bool app_tls = std::any_of(config.binds.begin(), config.binds.end(),
                             [](const config::Bind& bind) { return bind.tls; });
  if (app_tls || config.tls.every_listener) {
    auto made = net::tls::ServerContext::make(app_tls_options(config));
    if (!made) {
      const config::Tls& tls = config.tls;
      return Result<TlsContexts>::error(
          with_key(made.message(),
                   {{"certfile", {"certfile", "cert_file"}, tls.certfile},
                    {"keyfile", {"keyfile", "key_file"}, tls.keyfile},
                    {"ca_certs", {"ca_certs", "ca_file", "cafile"}, tls.ca_certs}},
                   "HTTPS listeners: ", true));
    }
    contexts.app = std::move(made.value());
  }
  if (config.metrics.tls()) {
    auto made = net::tls::ServerContext::make(metrics_tls_options(config.metrics));
    if (!made) {
      const config::Metrics& metrics = config.metrics;
      return Result<TlsContexts>::error(with_key(
          made.message(),
          {{"metrics.ssl_certfile", {"certfile", "cert_file"}, metrics.ssl_certfile},
           {"metrics.ssl_keyfile", {"keyfile", "key_file"}, metrics.ssl_keyfile},
           {"metrics.ssl_client_cafile", {"ca_file", "cafile"}, metrics.ssl_client_cafile},
           {"metrics.ssl_client_capath", {"ca_path", "capath"}, metrics.ssl_client_capath}},
          "metrics endpoint: ", false));
    }
    contexts.metrics = std::move(made.value());
  }
  return contexts;
}

}  // namespace prefork::master
