// What the configuration asks of the TLS contexts, before any file is read (tls_setup.hpp).
#include "master/tls_setup.hpp"

namespace prefork::master {

net::tls::ServerOptions app_tls_options(const config::Config& config) {
  const config::Tls& tls = config.tls;
  net::tls::ServerOptions options;
  options.cert_file = tls.certfile;
  options.key_file = tls.keyfile;
  options.ca_file = tls.ca_certs;
  switch (tls.cert_reqs) {
    case config::Tls::ClientCerts::none:
      options.verify = net::tls::ServerOptions::Verify::none;
      break;
    case config::Tls::ClientCerts::optional:
      options.verify = net::tls::ServerOptions::Verify::optional;
      break;
    case config::Tls::ClientCerts::required:
      options.verify = net::tls::ServerOptions::Verify::required;
      break;
  }
  options.ciphers = tls.ciphers;
  options.ciphersuites = tls.ciphersuites;
  options.min_version = tls.min_version >= 0x0304 ? TLS1_3_VERSION : TLS1_2_VERSION;
  options.alpn_http11 = true;
  options.names.whole = "HTTPS listeners";
  return options;
}

// As prometheus_client's _get_ssl_ctx: the client CAs from cafile and capath, a certificate
// asked for only when required (CERT_NONE otherwise), TLS 1.2 at least.
net::tls::ServerOptions metrics_tls_options(const config::Metrics& metrics) {
  net::tls::ServerOptions options;
  options.cert_file = metrics.ssl_certfile;
  options.key_file = metrics.ssl_keyfile;
  options.ca_file = metrics.ssl_client_cafile;
  options.ca_path = metrics.ssl_client_capath;
  options.verify = metrics.ssl_client_auth_required ? net::tls::ServerOptions::Verify::required
                                                    : net::tls::ServerOptions::Verify::none;
  options.min_version = TLS1_2_VERSION;
  options.alpn_http11 = true;
  options.names = {.cert_file = "metrics.ssl_certfile",
                   .key_file = "metrics.ssl_keyfile",
                   .ca_file = "metrics.ssl_client_cafile",
                   .ca_path = "metrics.ssl_client_capath",
                   .whole = "metrics endpoint"};
  return options;
}

}  // namespace prefork::master
