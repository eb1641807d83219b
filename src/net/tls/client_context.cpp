#include "net/tls/client_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace prefork::net::tls {
namespace {

bool is_ip_address(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

Status load_files(SSL_CTX* context, const ClientOptions& options) {
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(context) != 1)
      return Status::error("cannot load the system's CA certificates: " + last_error());
  } else if (SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr) != 1) {
    return Status::error("cannot load CA certificates from " + options.ca_file + ": " +
                         last_error());
  }
  if (options.cert_file.empty()) return {};
  if (SSL_CTX_use_certificate_chain_file(context, options.cert_file.c_str()) != 1) {
    return Status::error("cannot load the client certificate " + options.cert_file + ": " +
                         last_error());
  }
  const std::string& key = options.key_file.empty() ? options.cert_file : options.key_file;
  if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::error("cannot load the client key " + key + ": " + last_error());
  if (SSL_CTX_check_private_key(context) != 1) {
    return Status::error("the client key " + key + " does not match " + options.cert_file);
  }
  return {};
}

}  // namespace

std::string last_error(const SSL* session) {
  std::string reason;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    if (const char* text = ERR_reason_error_string(code)) reason = text;
  }
  if (session) {
    long verified = SSL_get_verify_result(session);
    if (verified != X509_V_OK) {
      reason += (reason.empty() ? "" : ": ") + std::string(X509_verify_cert_error_string(verified));
    }
  }
  return reason.empty() ? "unknown TLS error" : reason;
}

Result<std::shared_ptr<ClientContext>> ClientContext::make(const ClientOptions& options) {
  ERR_clear_error();
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (!context) return Status::error("cannot make a TLS context: " + last_error());
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_verify(context, options.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (Status loaded = load_files(context, options); !loaded.ok()) {
    SSL_CTX_free(context);
    return loaded;
  }
  return std::shared_ptr<ClientContext>(new ClientContext(context, options));
}

ClientContext::ClientContext(SSL_CTX* context, ClientOptions options)
    : context_(context), options_(std::move(options)) {}

ClientContext::~ClientContext() {
  SSL_CTX_free(context_);
}

SSL* ClientContext::new_session(const std::string& host) const {
  SSL* session = SSL_new(context_);
  if (!session) return nullptr;
  bool ip = is_ip_address(host);
  // SNI carries names only (RFC 6066).
  if (!ip) SSL_set_tlsext_host_name(session, host.c_str());
  if (options_.verify_peer && options_.check_hostname) {
    X509_VERIFY_PARAM* checks = SSL_get0_param(session);
    int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(checks, host.c_str())
                 : X509_VERIFY_PARAM_set1_host(checks, host.c_str(), 0);
    if (set != 1) {
      SSL_free(session);
      return nullptr;
    }
  }
  SSL_set_connect_state(session);
  return session;
}

}  // namespace prefork::net::tls
