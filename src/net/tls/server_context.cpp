#include "net/tls/server_context.hpp"

#include <openssl/err.h>

#include "net/tls/client_context.hpp"

namespace prefork::net::tls {
namespace {

// Resumption with a client certificate check fails outright (not as a cache miss) when the
// session id context is empty, so it is always set.
constexpr unsigned char session_id_context[] = "prefork";

// "certfile /x: no start line": the setting, what it holds, why it could not be used.
Status failed(std::string_view setting, const std::string& what, const std::string& why) {
  std::string message = std::string(setting) + " " + what;
  if (!why.empty()) message += ": " + why;
  return Status::error(std::move(message));
}

// An error no one setting causes: "HTTPS listeners: cannot load the system's CA certificates".
Status failed_whole(const ServerOptions& options, const std::string& why) {
  return Status::error(std::string(options.names.whole) + ": " + why);
}

Status load_certificate(SSL_CTX* context, const ServerOptions& options) {
  if (SSL_CTX_use_certificate_chain_file(context, options.cert_file.c_str()) != 1)
    return failed(options.names.cert_file, options.cert_file, last_error());
  // A key with a passphrase fails here: like gunicorn, there is no way to give the passphrase.
  const std::string& key = options.key_file.empty() ? options.cert_file : options.key_file;
  if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return failed(options.names.key_file, key, last_error());
  // Loading refuses a key of the certificate's type that does not match it; a key of another
  // type (RSA for an EC certificate) loads, and only this check sees the pair is unusable.
  if (SSL_CTX_check_private_key(context) != 1) {
    ERR_clear_error();
    return failed(
        options.names.key_file, key,
        "does not match " + std::string(options.names.cert_file) + " " + options.cert_file);
  }
  return {};
}

Status load_client_cas(SSL_CTX* context, const ServerOptions& options) {
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_file(context, options.ca_file.c_str()) != 1)
      return failed(options.names.ca_file, options.ca_file, last_error());
    // Names the CAs in the certificate request, so a client with several certificates can
    // pick the right one.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_file.c_str());
    if (!names) return failed(options.names.ca_file, options.ca_file, last_error());
    SSL_CTX_set_client_CA_list(context, names);
  }
  if (!options.ca_path.empty() && SSL_CTX_load_verify_dir(context, options.ca_path.c_str()) != 1)
    return failed(options.names.ca_path, options.ca_path, last_error());
  bool no_cas = options.ca_file.empty() && options.ca_path.empty();
  if (options.verify == ServerOptions::Verify::required && no_cas &&
      SSL_CTX_set_default_verify_paths(context) != 1) {
    return failed_whole(options, "cannot load the system's CA certificates: " + last_error());
  }
  return {};
}

int verify_mode(ServerOptions::Verify verify) {
  switch (verify) {
    case ServerOptions::Verify::none:
      return SSL_VERIFY_NONE;  // no certificate request at all
    case ServerOptions::Verify::optional:
      return SSL_VERIFY_PEER;  // a certificate that is sent must verify
    case ServerOptions::Verify::required:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

Status set_protocol(SSL_CTX* context, const ServerOptions& options) {
  if (SSL_CTX_set_min_proto_version(context, options.min_version) != 1) {
    ERR_clear_error();
    return failed_whole(options,
                        "unsupported minimum TLS version " + std::to_string(options.min_version));
  }
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(context, options.ciphers.c_str()) != 1) {
    ERR_clear_error();
    return failed(options.names.ciphers, "'" + options.ciphers + "'", "no cipher matched");
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(context, options.ciphersuites.c_str()) != 1) {
    ERR_clear_error();
    return failed(options.names.ciphersuites, "'" + options.ciphersuites + "'",
                  "no cipher suite matched");
  }
  return {};
}

// ALPN: http/1.1 when the client offers it, else http/1.0 (curl --http1.0 offers only that, and
// nginx accepts it too); a client offering only other protocols (h2 alone) gets the fatal
// no_application_protocol alert RFC 7301 asks for. A client that offers none never gets here
// and is served.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_size,
                  const unsigned char* offered, unsigned int offered_size, void*) {
  static constexpr unsigned char http11[] = "\x08http/1.1\x08http/1.0";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_size, http11, sizeof http11 - 1, offered,
                            offered_size) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

Status configure(SSL_CTX* context, const ServerOptions& options) {
  if (Status loaded = load_certificate(context, options); !loaded.ok()) return loaded;
  if (Status loaded = load_client_cas(context, options); !loaded.ok()) return loaded;
  SSL_CTX_set_verify(context, verify_mode(options.verify), nullptr);
  SSL_CTX_set_session_id_context(context, session_id_context, sizeof session_id_context - 1);
  if (Status set = set_protocol(context, options); !set.ok()) return set;
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Lets one BIO read take all the ciphertext lent, instead of one record header at a time.
  SSL_CTX_set_read_ahead(context, 1);
  // A per-worker cache would only resume clients that come back to the same worker; stateless
  // tickets, whose keys the master made before fork, resume on any worker.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (options.alpn_http11) SSL_CTX_set_alpn_select_cb(context, select_http11, nullptr);
  return {};
}

}  // namespace

Result<std::shared_ptr<const ServerContext>> ServerContext::make(const ServerOptions& options) {
  ERR_clear_error();
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context) return failed_whole(options, "cannot make a TLS context: " + last_error());
  if (Status configured = configure(context, options); !configured.ok()) {
    SSL_CTX_free(context);
    return configured;
  }
  return std::shared_ptr<const ServerContext>(new ServerContext(context));
}

ServerContext::ServerContext(SSL_CTX* context) : context_(context) {}

ServerContext::~ServerContext() {
  SSL_CTX_free(context_);
}

SSL* ServerContext::new_session() const {
  SSL* session = SSL_new(context_);
  if (session) SSL_set_accept_state(session);
  return session;
}

}  // namespace prefork::net::tls
