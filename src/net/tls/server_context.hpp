// What a TLS server presents and asks for (OpenSSL 3): its certificate chain and key, the CAs
// client certificates must chain to, whether one is asked for, the protocol floor, the ciphers
// and ALPN. Made in the master before fork (a worker never reads a key file) and re-made on HUP;
// each accepted connection takes a fresh session from it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace prefork::net::tls {

struct ServerOptions {
  enum class Verify { none, optional, required };
  // How the user names each setting, so that an error says which one to fix.
  struct Names {
    std::string_view cert_file = "certfile";
    std::string_view key_file = "keyfile";
    std::string_view ca_file = "ca_certs";
    std::string_view ca_path = "ca_path";
    std::string_view ciphers = "ciphers";
    std::string_view ciphersuites = "ciphersuites";
    std::string_view whole = "TLS";  // what the context serves, for errors naming no setting
  };

  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // "" = the key is in cert_file
  std::string ca_file;    // CAs for client certificates (PEM), "" = none
  std::string ca_path;    // a hashed directory of CAs (`openssl rehash`), "" = none
  // Verify::required with neither ca_file nor ca_path: the system's default store.
  Verify verify = Verify::none;
  std::string ciphers;               // TLS 1.2 cipher list, "" = OpenSSL's default
  std::string ciphersuites;          // TLS 1.3 suites, "" = OpenSSL's default
  int min_version = TLS1_2_VERSION;  // TLS1_2_VERSION or TLS1_3_VERSION
  // Answer ALPN with http/1.1 (or http/1.0); a client offering only others is refused.
  bool alpn_http11 = true;
  Names names;
};

class ServerContext {
 public:
  // An error starts with the name of the setting to fix, then the file and why ("certfile /x:
  // no start line"); one that no setting causes starts with names.whole.
  static Result<std::shared_ptr<const ServerContext>> make(const ServerOptions& options);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A server session in accept state; null when OpenSSL cannot make one.
  SSL* new_session() const;

 private:
  explicit ServerContext(SSL_CTX* context);

  SSL_CTX* context_;
};

}  // namespace prefork::net::tls
