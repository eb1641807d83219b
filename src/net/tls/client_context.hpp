// What a TLS client trusts and shows (OpenSSL 3): the CA file, an optional client certificate
// and key, whether the server's certificate and name are checked. Made once, at start-up, from
// files; each connection takes a fresh session from it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "core/result.hpp"

namespace prefork::net::tls {

struct ClientOptions {
  std::string ca_file;    // "" = the system's default CA store
  std::string cert_file;  // a client certificate (PEM), "" = none
  std::string key_file;   // its key; "" = in cert_file
  bool verify_peer = true;
  bool check_hostname = true;
};

class ClientContext {
 public:
  // An error names the file that could not be used and why.
  static Result<std::shared_ptr<ClientContext>> make(const ClientOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A client session for host (SNI for a name; the name or IP address checked against the
  // certificate when check_hostname); null when OpenSSL cannot make one.
  SSL* new_session(const std::string& host) const;
  // Whether sessions present a client certificate.
  bool has_certificate() const { return !options_.cert_file.empty(); }

 private:
  ClientContext(SSL_CTX* context, ClientOptions options);

  SSL_CTX* context_;
  ClientOptions options_;
};

// The reason of the last OpenSSL failure on this thread ("certificate verify failed"), with the
// certificate check's own reason when a session failed it.
std::string last_error(const SSL* session = nullptr);

}  // namespace prefork::net::tls
