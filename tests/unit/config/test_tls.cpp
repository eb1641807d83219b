// HTTPS settings: gunicorn's keys and flags, http:// and https:// binds and which listeners speak
// TLS, the metrics endpoint's PROMETHEUS_SSL_* variables, the settings that need one another, and
// the options the master's TLS contexts are made of.
#include "load_helpers.hpp"

#include "config/bind.hpp"
#include "master/tls_setup.hpp"

#include <sys/stat.h>

using namespace prefork::config;
using namespace prefork::config::testing;

namespace {

// Files that exist and can be read (their content is not read by the config; load_tls does).
class Files {
 public:
  Files() {
    char pattern[] = "/tmp/prefork-tls-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    directory_ = pattern;
    for (const char* name : {"cert.pem", "key.pem", "ca.pem"}) {
      std::ofstream(directory_ + "/" + name) << "-----BEGIN NOTHING-----\n";
    }
    REQUIRE(mkdir(capath().c_str(), 0700) == 0);
  }
  ~Files() {
    for (const char* name : {"cert.pem", "key.pem", "ca.pem"}) {
      unlink((directory_ + "/" + name).c_str());
    }
    rmdir(capath().c_str());
    rmdir(directory_.c_str());
  }
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  std::string cert() const { return directory_ + "/cert.pem"; }
  std::string key() const { return directory_ + "/key.pem"; }
  std::string ca() const { return directory_ + "/ca.pem"; }
  std::string capath() const { return directory_ + "/cas"; }

 private:
  std::string directory_;
};

std::vector<bool> tls_of(const Config& config) {
  std::vector<bool> flags;
  for (const Bind& bind : config.binds) flags.push_back(bind.tls);
  return flags;
}

}  // namespace

TEST_CASE("a bind may start with http:// or https://, before every form") {
  Bind v4 = bound("https://127.0.0.1:8443");
  CHECK(v4.scheme == Bind::Scheme::https);
  CHECK(v4.kind == Bind::Kind::tcp);
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 8443);
  CHECK(v4.text == "https://127.0.0.1:8443");

  Bind v6 = bound("http://[::1]:8000");
  CHECK(v6.scheme == Bind::Scheme::http);
  CHECK(v6.host == "::1");
  CHECK(v6.port == 8000);
  CHECK(v6.text == "http://[::1]:8000");

  Bind any = bound("https://:443");
  CHECK(any.host == "0.0.0.0");
  CHECK(any.port == 443);
  CHECK(bound("https://localhost:8443").host == "127.0.0.1");

  Bind socket = bound("https://unix:/run/app.sock");
  CHECK(socket.scheme == Bind::Scheme::https);
  CHECK(socket.kind == Bind::Kind::unix_socket);
  CHECK(socket.path == "/run/app.sock");

  Bind inherited = bound("http://fd://3");
  CHECK(inherited.scheme == Bind::Scheme::http);
  CHECK(inherited.kind == Bind::Kind::fd);
  CHECK(inherited.fd == 3);

  Bind plain = bound("127.0.0.1:8000");
  CHECK(plain.scheme == Bind::Scheme::unspecified);
  CHECK_FALSE(plain.tls);
}

TEST_CASE("a bad address after a scheme is refused, saying after what") {
  const std::string forms = "expected HOST:PORT, [IPV6]:PORT, :PORT, unix:PATH or fd://N, got ";
  CHECK(problem_of("https://") == forms + "\"\" (after https://)");
  CHECK(problem_of("https://127.0.0.1") == forms + "\"127.0.0.1\" (after https://)");
  CHECK(problem_of("http://127.0.0.1:99999") ==
        "expected a port 0..65535, got \"127.0.0.1:99999\" (after http://)");
  CHECK(problem_of("https://unix:") == "unix socket path is empty in \"unix:\" (after https://)");
  CHECK(problem_of("https://https://:1") ==
        "IPv6 addresses need brackets, e.g. [::1]:8000, got \"https://:1\" (after https://)");
  // Only these two schemes, written in lower case.
  CHECK(problem_of("tcp://127.0.0.1:80") ==
        "IPv6 addresses need brackets, e.g. [::1]:8000, got \"tcp://127.0.0.1:80\"");
}

TEST_CASE("certfile and no scheme: every listener speaks TLS, as in gunicorn") {
  Files files;
  Config config = loaded({"--certfile", files.cert(), "--keyfile", files.key(), "-b",
                          "0.0.0.0:8443", "-b", "unix:/run/app.sock", "-b", "fd://3"});
  CHECK(config.tls.certfile == files.cert());
  CHECK(config.tls.keyfile == files.key());
  CHECK(config.tls.every_listener);
  CHECK(tls_of(config) == std::vector<bool>{true, true, true});

  Config plain = loaded({"-b", "0.0.0.0:8000"});
  CHECK_FALSE(plain.tls.every_listener);
  CHECK(tls_of(plain) == std::vector<bool>{false});
  CHECK(tls_of(loaded({})) == std::vector<bool>{false});  // the default bind
}

TEST_CASE("when a bind names a scheme, only https:// binds speak TLS") {
  Files files;
  TomlFile file("certfile = \"" + files.cert() + "\"\nkeyfile = \"" + files.key() +
                "\"\nbind = [\"https://0.0.0.0:8443\", \"unix:/run/app.sock\", "
                "\"http://127.0.0.1:8000\", \"https://unix:/run/tls.sock\"]\n");
  Config config = loaded({"-c", file.path()});
  CHECK_FALSE(config.tls.every_listener);
  CHECK(tls_of(config) == std::vector<bool>{true, false, false, true});
  CHECK(config.binds[0].text == "https://0.0.0.0:8443");

  // The key may be in the certificate file.
  Config one_file = loaded({"--certfile", files.cert(), "-b", "https://:8443", "-b", ":8000"});
  CHECK(one_file.tls.keyfile.empty());
  CHECK(tls_of(one_file) == std::vector<bool>{true, false});

  // http:// binds alone, without certfile: all plain, no error.
  CHECK(tls_of(loaded({"-b", "http://:8000"})) == std::vector<bool>{false});
}

TEST_CASE("settings that need one another are refused, by key") {
  Files files;
  CHECK(error_of({"-b", "https://0.0.0.0:8443", "-b", "unix:/run/app.sock"}) ==
        "bind \"https://0.0.0.0:8443\": https needs certfile (and keyfile, unless the key is in "
        "certfile)");
  CHECK(error_of({"--certfile", files.cert(), "-b", "http://:8000", "-b", "http://[::]:8001"}) ==
        "certfile is set, but no bind says https://: when a bind names a scheme, only the "
        "https:// ones speak TLS");
  CHECK(error_of({"--certfile", files.cert(), "-b", "http://:8000", "-b", "unix:/x"}) ==
        "certfile is set, but no bind says https://: when a bind names a scheme, only the "
        "https:// ones speak TLS");
  CHECK(error_of({"--keyfile", files.key()}) ==
        "keyfile is set without certfile: the key needs its certificate");
  CHECK(error_of({"--certfile", files.cert(), "--cert-reqs", "required"}) ==
        "cert_reqs = \"required\" needs ca_certs: the CAs that client certificates must chain to");
  CHECK(error_of({"--certfile", files.cert(), "--cert-reqs", "1"}) ==
        "cert_reqs = \"optional\" needs ca_certs: the CAs that client certificates must chain to");
  CHECK(loaded({"--certfile", files.cert(), "--cert-reqs", "2", "--ca-certs", files.ca()})
            .tls.cert_reqs == Tls::ClientCerts::required);

  CHECK(error_of({}, {"PROMETHEUS_SSL_CERTFILE=" + files.cert()}) ==
        "metrics.ssl_certfile is set without metrics.ssl_keyfile: HTTPS on the metrics endpoint "
        "needs both (PROMETHEUS_SSL_CERTFILE, PROMETHEUS_SSL_KEYFILE)");
  CHECK(error_of({}, {"PROMETHEUS_SSL_KEYFILE=" + files.key()}) ==
        "metrics.ssl_keyfile is set without metrics.ssl_certfile: HTTPS on the metrics endpoint "
        "needs both (PROMETHEUS_SSL_CERTFILE, PROMETHEUS_SSL_KEYFILE)");
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_CAFILE=" + files.ca()}) ==
        "metrics.ssl_client_cafile (PROMETHEUS_SSL_CLIENT_CAFILE) is set without "
        "metrics.ssl_certfile: client certificates need HTTPS on the metrics endpoint");
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_CAPATH=" + files.capath()}) ==
        "metrics.ssl_client_capath (PROMETHEUS_SSL_CLIENT_CAPATH) is set without "
        "metrics.ssl_certfile: client certificates need HTTPS on the metrics endpoint");
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=true"}) ==
        "metrics.ssl_client_auth_required (PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED) is set without "
        "metrics.ssl_certfile: client certificates need HTTPS on the metrics endpoint");
  // An empty variable is unset, as in the exporter.
  CHECK_FALSE(loaded({}, {"PROMETHEUS_SSL_CERTFILE=", "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=false"})
                  .metrics.tls());
}

TEST_CASE("cross-setting errors from a file name the file, one line each") {
  Files files;
  TomlFile file("bind = [\"https://:8443\", \"https://:8444\"]\nkeyfile = \"" + files.key() +
                "\"\n[metrics]\nssl_keyfile = \"" + files.key() + "\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.path() +
            ": bind \"https://:8443\": https needs certfile (and keyfile, unless the key "
            "is in certfile)\n" +
            file.path() +
            ": bind \"https://:8444\": https needs certfile (and keyfile, unless the "
            "key is in certfile)\n" +
            file.path() + ": keyfile is set without certfile: the key needs its certificate\n" +
            file.path() +
            ": metrics.ssl_keyfile is set without metrics.ssl_certfile: HTTPS on the metrics "
            "endpoint needs both (PROMETHEUS_SSL_CERTFILE, PROMETHEUS_SSL_KEYFILE)");
}

TEST_CASE("cert_reqs: none, optional, required, or gunicorn's 0, 1, 2") {
  Files files;
  auto reqs = [&](const std::string& value) {
    return loaded({"--certfile", files.cert(), "--ca-certs", files.ca(), "--cert-reqs", value})
        .tls.cert_reqs;
  };
  CHECK(loaded({}).tls.cert_reqs == Tls::ClientCerts::none);
  CHECK(reqs("0") == Tls::ClientCerts::none);
  CHECK(reqs("1") == Tls::ClientCerts::optional);
  CHECK(reqs("2") == Tls::ClientCerts::required);
  CHECK(reqs("none") == Tls::ClientCerts::none);
  CHECK(reqs("optional") == Tls::ClientCerts::optional);
  CHECK(reqs("Required") == Tls::ClientCerts::required);

  TomlFile file("certfile = \"" + files.cert() + "\"\nca_certs = \"" + files.ca() +
                "\"\ncert_reqs = 2\n");
  CHECK(loaded({"-c", file.path()}).tls.cert_reqs == Tls::ClientCerts::required);
  file.rewrite("certfile = \"" + files.cert() + "\"\nca_certs = \"" + files.ca() +
               "\"\ncert_reqs = \"optional\"\n");
  CHECK(loaded({"-c", file.path()}).tls.cert_reqs == Tls::ClientCerts::optional);

  file.rewrite("\n\ncert_reqs = 3\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(3) +
            "cert_reqs: unknown client certificate mode 3; choices: none, optional, required (or "
            "0, 1, 2)");
  file.rewrite("\n\ncert_reqs = true\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(3) + "cert_reqs: expected a string, got a boolean");
  CHECK(error_of({"--cert-reqs", "CERT_REQUIRED"}) ==
        "command line: --cert-reqs: unknown client certificate mode \"CERT_REQUIRED\"; choices: "
        "none, optional, required (or 0, 1, 2)");
  CHECK(error_of({"--cert-reqs", "-1"}) ==
        "command line: --cert-reqs: unknown client certificate mode \"-1\"; choices: none, "
        "optional, required (or 0, 1, 2)");
}

TEST_CASE("ssl_min_version: TLSv1.2 (default) or TLSv1.3; nothing lower") {
  CHECK(loaded({}).tls.min_version == 0x0303);
  CHECK(loaded({"--ssl-min-version", "TLSv1.3"}).tls.min_version == 0x0304);
  CHECK(loaded({"--ssl-min-version", "TLSv1_3"}).tls.min_version == 0x0304);  // Python's name
  CHECK(loaded({"--ssl-min-version", "tlsv1.3"}).tls.min_version == 0x0304);
  CHECK(loaded({"--ssl-min-version", "TLSv1.3", "--ssl-min-version=TLSv1_2"}).tls.min_version ==
        0x0303);

  for (const char* low : {"TLSv1.1", "TLSv1_1", "TLSv1", "TLSv1.0", "SSLv3"}) {
    CAPTURE(low);
    CHECK(error_of({"--ssl-min-version", low}) ==
          std::string("command line: --ssl-min-version: \"") + low +
              "\" is below TLS 1.2, which prefork never offers; choices: TLSv1.2, TLSv1.3");
  }
  TomlFile file("\n\nssl_min_version = \"1.3\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(3) + "ssl_min_version: unknown TLS version \"1.3\"; choices: TLSv1.2, TLSv1.3");
  file.rewrite("\n\nssl_min_version = 772\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(3) + "ssl_min_version: expected a string, got an integer");
}

TEST_CASE("gunicorn's flags set the app's TLS settings") {
  Files files;
  Config config = loaded({"--certfile", files.cert(), "--keyfile=" + files.key(), "--ca-certs",
                          files.ca(), "--cert-reqs", "optional", "--ciphers", "ECDHE+AESGCM:!aNULL",
                          "--ciphersuites", "TLS_AES_256_GCM_SHA384", "--ssl-min-version",
                          "TLSv1.3", "--do-handshake-on-connect"});
  CHECK(config.tls.certfile == files.cert());
  CHECK(config.tls.keyfile == files.key());
  CHECK(config.tls.ca_certs == files.ca());
  CHECK(config.tls.cert_reqs == Tls::ClientCerts::optional);
  CHECK(config.tls.ciphers == "ECDHE+AESGCM:!aNULL");
  CHECK(config.tls.ciphersuites == "TLS_AES_256_GCM_SHA384");
  CHECK(config.tls.min_version == 0x0304);
  CHECK(config.tls.do_handshake_on_connect);
  CHECK_FALSE(loaded({}).tls.do_handshake_on_connect);
  CHECK(loaded({}).tls == Tls{});
}

TEST_CASE("the same settings as TOML keys") {
  Files files;
  TomlFile file("certfile = \"" + files.cert() + "\"\nkeyfile = \"" + files.key() +
                "\"\nca_certs = \"" + files.ca() +
                "\"\ncert_reqs = \"required\"\nciphers = \"HIGH\"\nciphersuites = "
                "\"TLS_CHACHA20_POLY1305_SHA256\"\nssl_min_version = \"TLSv1.3\"\n"
                "do_handshake_on_connect = true\n");
  Config config = loaded({"-c", file.path()});
  CHECK(config.tls.certfile == files.cert());
  CHECK(config.tls.keyfile == files.key());
  CHECK(config.tls.ca_certs == files.ca());
  CHECK(config.tls.cert_reqs == Tls::ClientCerts::required);
  CHECK(config.tls.ciphers == "HIGH");
  CHECK(config.tls.ciphersuites == "TLS_CHACHA20_POLY1305_SHA256");
  CHECK(config.tls.min_version == 0x0304);
  CHECK(config.tls.do_handshake_on_connect);
  CHECK(config.tls.every_listener);
}

TEST_CASE("a certificate or key that cannot be read is FILE:LINE: KEY: cannot read") {
  const std::pair<const char*, const char*> cases[] = {
      {"certfile", "certfile"},
      {"keyfile", "keyfile"},
      {"ca_certs", "ca_certs"},
  };
  for (const auto& [key, shown] : cases) {
    TomlFile file(std::string("\n\n") + key + " = \"/nonexistent/x.pem\"\n");
    CHECK(error_of({"-c", file.path()}) ==
          file.at(3) + shown + ": cannot read \"/nonexistent/x.pem\": No such file or directory");
  }
  TomlFile file("[metrics]\nport = 9092\nssl_certfile = \"/nonexistent/m.pem\"\n");
  CHECK(error_of({"-c", file.path()}) ==
        file.at(3) +
            "metrics.ssl_certfile: cannot read \"/nonexistent/m.pem\": No such file or directory");
  CHECK(error_of({"--certfile", "/nonexistent/c.pem"}) ==
        "command line: --certfile: cannot read \"/nonexistent/c.pem\": No such file or directory");
}

TEST_CASE("the metrics endpoint's PROMETHEUS_SSL_* variables") {
  Files files;
  Config config = loaded(
      {},
      {"PROMETHEUS_SSL_CERTFILE=" + files.cert(), "PROMETHEUS_SSL_KEYFILE=" + files.key(),
       "PROMETHEUS_SSL_CLIENT_CAFILE=" + files.ca(),
       "PROMETHEUS_SSL_CLIENT_CAPATH=" + files.capath(), "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=on"});
  CHECK(config.metrics.tls());
  CHECK(config.metrics.ssl_certfile == files.cert());
  CHECK(config.metrics.ssl_keyfile == files.key());
  CHECK(config.metrics.ssl_client_cafile == files.ca());
  CHECK(config.metrics.ssl_client_capath == files.capath());
  CHECK(config.metrics.ssl_client_auth_required);
  // The app's listeners stay plain: the metrics certificate is the endpoint's only.
  CHECK(tls_of(config) == std::vector<bool>{false});

  std::vector<std::string> https = {"PROMETHEUS_SSL_CERTFILE=" + files.cert(),
                                    "PROMETHEUS_SSL_KEYFILE=" + files.key()};
  for (const char* yes : {"true", "1", "yes", "on", "TRUE"}) {
    std::vector<std::string> env = https;
    env.push_back(std::string("PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=") + yes);
    CHECK(loaded({}, env).metrics.ssl_client_auth_required);
  }
  for (const char* no : {"false", "0", "no", "off"}) {
    std::vector<std::string> env = https;
    env.push_back(std::string("PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=") + no);
    CHECK_FALSE(loaded({}, env).metrics.ssl_client_auth_required);
  }
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=sometimes"}) ==
        "environment: PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED: expected a boolean (true/false, 1/0, "
        "yes/no, on/off), got \"sometimes\"");
  CHECK(error_of({}, {"PROMETHEUS_SSL_KEYFILE=/nonexistent/k.pem"}) ==
        "environment: PROMETHEUS_SSL_KEYFILE: cannot read \"/nonexistent/k.pem\": No such file or "
        "directory");
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_CAPATH=/nonexistent/cas"}) ==
        "environment: PROMETHEUS_SSL_CLIENT_CAPATH: cannot read directory \"/nonexistent/cas\": "
        "No such file or directory");
  CHECK(error_of({}, {"PROMETHEUS_SSL_CLIENT_CAPATH=" + files.ca()}) ==
        "environment: PROMETHEUS_SSL_CLIENT_CAPATH: not a directory: \"" + files.ca() + "\"");

  // The [metrics] keys, and the environment over the file.
  TomlFile file("[metrics]\nssl_certfile = \"" + files.cert() + "\"\nssl_keyfile = \"" +
                files.key() + "\"\nssl_client_cafile = \"" + files.ca() +
                "\"\nssl_client_auth_required = true\n");
  Config from_file = loaded({"-c", file.path()});
  CHECK(from_file.metrics.ssl_certfile == files.cert());
  CHECK(from_file.metrics.ssl_client_cafile == files.ca());
  CHECK(from_file.metrics.ssl_client_auth_required);
  CHECK_FALSE(loaded({"-c", file.path()}, {"PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=no"})
                  .metrics.ssl_client_auth_required);
}

TEST_CASE("a reload resolves the listeners again") {
  Files files;
  TomlFile file("certfile = \"" + files.cert() + "\"\nbind = [\"https://:8443\", \":8000\"]\n");
  Config running = loaded({"-c", file.path()});
  CHECK(tls_of(running) == std::vector<bool>{true, false});
  file.rewrite("certfile = \"" + files.cert() + "\"\nbind = [\":8443\", \":8000\"]\n");
  const char* argv[] = {"prefork", "-c", file.path().c_str(), nullptr};
  const char* envp[] = {nullptr};
  LoadResult reloaded = reload(running, 3, argv, envp);
  REQUIRE(reloaded.config.has_value());
  CHECK(reloaded.config->tls.every_listener);
  CHECK(tls_of(*reloaded.config) == std::vector<bool>{true, true});
}

TEST_CASE("the app's options: gunicorn's settings, ALPN http/1.1") {
  Files files;
  Config config =
      loaded({"--certfile", files.cert(), "--keyfile", files.key(), "--ca-certs", files.ca(),
              "--cert-reqs", "required", "--ciphers", "HIGH", "--ciphersuites",
              "TLS_AES_128_GCM_SHA256", "--ssl-min-version", "TLSv1.3"});
  prefork::net::tls::ServerOptions options = prefork::master::app_tls_options(config);
  CHECK(options.cert_file == files.cert());
  CHECK(options.key_file == files.key());
  CHECK(options.ca_file == files.ca());
  CHECK(options.ca_path.empty());
  CHECK(options.verify == prefork::net::tls::ServerOptions::Verify::required);
  CHECK(options.ciphers == "HIGH");
  CHECK(options.ciphersuites == "TLS_AES_128_GCM_SHA256");
  CHECK(options.min_version == TLS1_3_VERSION);
  CHECK(options.alpn_http11);

  config.tls.cert_reqs = Tls::ClientCerts::optional;
  CHECK(prefork::master::app_tls_options(config).verify ==
        prefork::net::tls::ServerOptions::Verify::optional);
  config.tls.cert_reqs = Tls::ClientCerts::none;
  config.tls.min_version = 0x0303;
  options = prefork::master::app_tls_options(config);
  CHECK(options.verify == prefork::net::tls::ServerOptions::Verify::none);
  CHECK(options.min_version == TLS1_2_VERSION);
}

TEST_CASE("the metrics endpoint's options: the exporter's, TLS 1.2 at least") {
  Metrics metrics;
  metrics.ssl_certfile = "/etc/m/cert.pem";
  metrics.ssl_keyfile = "/etc/m/key.pem";
  metrics.ssl_client_cafile = "/etc/m/ca.pem";
  metrics.ssl_client_capath = "/etc/m/cas";
  prefork::net::tls::ServerOptions options = prefork::master::metrics_tls_options(metrics);
  CHECK(options.cert_file == "/etc/m/cert.pem");
  CHECK(options.key_file == "/etc/m/key.pem");
  CHECK(options.ca_file == "/etc/m/ca.pem");
  CHECK(options.ca_path == "/etc/m/cas");
  // Like prometheus_client: no certificate is asked for unless one is required.
  CHECK(options.verify == prefork::net::tls::ServerOptions::Verify::none);
  CHECK(options.min_version == TLS1_2_VERSION);
  metrics.ssl_client_auth_required = true;
  CHECK(prefork::master::metrics_tls_options(metrics).verify ==
        prefork::net::tls::ServerOptions::Verify::required);
}
