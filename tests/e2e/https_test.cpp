// HTTPS on the app listeners, with the real binary and certificates the test makes: curl,
// openssl s_client and Python's ssl as clients over real sockets.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"
#include "metrics_support.hpp"
#include "support/certificates.hpp"
#include "support/tools.hpp"

using namespace prefork::e2e;
using prefork::testing::Certificates;
using prefork::testing::run_command;

namespace {

// Certificates for every test: a CA, "server" for 127.0.0.1, and "client" for client auth.
struct Pki {
  Certificates certificates;
  Pki() {
    certificates.issue("server", "DNS:localhost,IP:127.0.0.1");
    certificates.issue("client", "DNS:client", true);
  }
  std::string ca() const { return certificates.ca(); }
  std::string file(const std::string& name) const { return certificates.file(name); }
};

std::vector<std::string> tls_args(const Pki& pki, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {
      "-w", "1", "--certfile", pki.file("server.pem"), "--keyfile", pki.file("server.key")};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// A hello server with TLS options, its metrics on a free loopback port.
struct HttpsServer {
  TempDir dir;
  Server server;
  int port = 0;
  HttpsServer(const Pki& pki, const std::vector<std::string>& more, const std::string& toml = "")
      : server(hello_binary(), with_config(dir, tls_args(pki, more), toml)) {
    port = server.port_of("Listening at: https://");
  }

  static std::vector<std::string> with_config(const TempDir& dir, std::vector<std::string> args,
                                              const std::string& toml) {
    std::string path = dir.write("prefork.toml", toml + "\n" + file_config());
    args.insert(args.begin(), {"-c", path});
    return args;
  }
};

struct Output {
  int status;
  std::string text;
};

Output run(const std::string& command) {
  Output output;
  output.status = run_command(command, output.text);
  return output;
}

std::string url(int port, const std::string& path = "/") {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

// curl with the test CA; extra: more curl options.
Output curl(const Pki& pki, int port, const std::string& path, const std::string& extra = "") {
  return run("curl -sS --max-time 10 --cacert " + pki.ca() + " " + extra + " " + url(port, path));
}

std::string client_tool() {
  return "python3 " + std::string(PREFORK_SOURCE_ROOT) + "/tests/e2e/tls_client.py";
}

Output tool(const std::string& arguments) {
  return run(client_tool() + " " + arguments);
}

// The subject of the certificate the server at port presents.
std::string served_subject(int port) {
  return run("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
             " </dev/null 2>/dev/null | openssl x509 -noout -subject")
      .text;
}

double tls_failures(Server& server, const std::string& reason) {
  std::string text = scrape(metrics_port(server));
  double sum =
      sum_of(text, "gunicorn_worker_tls_handshake_errors_total", "reason=\"" + reason + "\"");
  return sum < 0 ? 0 : sum;
}

}  // namespace

TEST_CASE("--certfile and --keyfile alone make every listener HTTPS, as in gunicorn") {
  Pki pki;
  HttpsServer https(pki, {"-b", "127.0.0.1:0"});
  REQUIRE(https.port > 0);
  Output hello = curl(pki, https.port, "/", "-v");
  CHECK(hello.status == 0);
  CHECK(hello.text.find("Hello, World!") != std::string::npos);
  CHECK(hello.text.find("ALPN: server accepted http/1.1") != std::string::npos);
  CHECK(curl(pki, https.port, "/peer").text.find(" https") != std::string::npos);
  CHECK(curl(pki, https.port, "/", "--http1.0").text == "Hello, World!");
  // A client that asks for h2 first falls back to http/1.1.
  CHECK(curl(pki, https.port, "/", "--http2").text == "Hello, World!");
  // The access log and the handler see the same request as on plain HTTP.
  Output echo = curl(pki, https.port, "/echo", "-d 'ping pong'");
  CHECK(echo.text == "ping pong");
}

TEST_CASE("keep-alive and pipelining over TLS answer every request in order") {
  Pki pki;
  HttpsServer https(pki, {"-b", "127.0.0.1:0"});
  REQUIRE(https.port > 0);
  std::string port = std::to_string(https.port);
  CHECK(tool("keepalive " + port + " " + pki.ca() + " 50").text == "50\n");
  // More than the pipeline's depth in one record: the rest waits inside the TLS session.
  CHECK(tool("pipeline " + port + " " + pki.ca() + " 40").text == "40\n");
  // A body larger than the read buffer, in many records.
  std::string body(300 * 1024, 'x');
  std::string path = https.dir.write("body", body);
  Output echo = curl(pki, https.port, "/echo", "--data-binary @" + path);
  CHECK(echo.text.size() == body.size());
  Output too_large = curl(pki, https.port, "/echo",
                          "-o /dev/null -w '%{http_code}' --data-binary @" +
                              https.dir.write("huge", std::string(2 << 20, 'y')));
  CHECK(too_large.text == "413");
}

TEST_CASE("the access log shows requests over TLS as it shows plain ones") {
  Pki pki;
  TempDir logs;
  std::string path = logs.file("access.log");
  HttpsServer https(pki, {"-b", "127.0.0.1:0", "--access-logfile", path, "--access-logformat",
                          "%(h)s \"%(r)s\" %(s)s %(b)s"});
  REQUIRE(https.port > 0);
  CHECK(curl(pki, https.port, "/peer").status == 0);
  CHECK(eventually([&] {
    return read_whole(path).find("127.0.0.1 \"GET /peer HTTP/1.1\" 200 ") != std::string::npos;
  }));
}

TEST_CASE("binds with schemes: https:// listeners speak TLS, the others plain HTTP") {
  Pki pki;
  HttpsServer https(pki, {"-b", "https://127.0.0.1:0", "-b", "http://127.0.0.1:0"});
  REQUIRE(https.port > 0);
  int plain = https.server.port_of("Listening at: http://");
  REQUIRE(plain > 0);
  CHECK(curl(pki, https.port, "/").text == "Hello, World!");
  CHECK(http_get(plain, "/").body == "Hello, World!");
  CHECK(http_get(plain, "/peer").body.find(" http") != std::string::npos);
}

TEST_CASE("no protocol below the minimum is offered") {
  Pki pki;
  std::string connect = "openssl s_client -brief -CAfile " + pki.ca() + " -connect 127.0.0.1:";
  {
    HttpsServer https(pki, {"-b", "127.0.0.1:0"});
    REQUIRE(https.port > 0);
    std::string port = std::to_string(https.port);
    CHECK(run(connect + port + " -tls1_2 </dev/null").status == 0);
    // SECLEVEL=0: OpenSSL 3's client would refuse TLS 1.1 itself, proving nothing.
    CHECK(run(connect + port + " -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null").status != 0);
  }
  HttpsServer https(pki, {"-b", "127.0.0.1:0", "--ssl-min-version", "TLSv1.3"});
  REQUIRE(https.port > 0);
  std::string port = std::to_string(https.port);
  CHECK(run(connect + port + " -tls1_2 </dev/null").status != 0);
  CHECK(run(connect + port + " -tls1_3 </dev/null").status == 0);
}

TEST_CASE("cert_reqs = required: only clients with a certificate from ca_certs are served") {
  Pki pki;
  Certificates others;  // a CA of its own, unknown to the server
  others.issue("stranger", "DNS:client", true);
  HttpsServer https(pki, {"-b", "127.0.0.1:0", "--cert-reqs", "required", "--ca-certs", pki.ca()});
  REQUIRE(https.port > 0);
  std::string client = "--cert " + pki.file("client.pem") + " --key " + pki.file("client.key");
  CHECK(curl(pki, https.port, "/subject", client).text == "CN=client");
  CHECK(curl(pki, https.port, "/subject").status != 0);
  std::string stranger =
      "--cert " + others.file("stranger.pem") + " --key " + others.file("stranger.key");
  CHECK(curl(pki, https.port, "/subject", stranger).status != 0);
  CHECK(eventually([&] { return tls_failures(https.server, "certificate") >= 2; }));
}

TEST_CASE("cert_reqs = optional: a client without a certificate is served, a bad one is not") {
  Pki pki;
  Certificates others;
  others.issue("stranger", "DNS:client", true);
  HttpsServer https(pki, {"-b", "127.0.0.1:0", "--cert-reqs", "optional", "--ca-certs", pki.ca()});
  REQUIRE(https.port > 0);
  Output anonymous = curl(pki, https.port, "/subject", "-w '%{http_code}'");
  CHECK(anonymous.text == "200");
  std::string client = "--cert " + pki.file("client.pem") + " --key " + pki.file("client.key");
  CHECK(curl(pki, https.port, "/subject", client).text == "CN=client");
  std::string stranger =
      "--cert " + others.file("stranger.pem") + " --key " + others.file("stranger.key");
  CHECK(curl(pki, https.port, "/subject", stranger).status != 0);
}

TEST_CASE("bad input closes the connection, counted by reason; the worker lives on") {
  Pki pki;
  HttpsServer https(pki, {"-b", "127.0.0.1:0"}, "header_timeout = 1\n");
  REQUIRE(https.port > 0);
  REQUIRE(https.server.wait_for_worker_count(1));
  std::vector<pid_t> workers = https.server.workers();
  std::string port = std::to_string(https.port);

  Output garbage = tool("garbage " + port);
  CHECK(garbage.text.find("http=False") != std::string::npos);
  // Plain HTTP to a TLS port gets no HTTP answer.
  Output plain = tool("plain " + port);
  CHECK(plain.text.find("http=False") != std::string::npos);
  Output oversized = tool("oversized-record " + port);
  CHECK(oversized.text.find("http=False") != std::string::npos);
  CHECK(eventually([&] { return tls_failures(https.server, "protocol") == 3; }));

  // A handshake that stalls is closed at header_timeout.
  double waited = std::atof(tool("stall " + port).text.c_str());
  CHECK(waited >= 0.8);
  CHECK(waited < 5);
  CHECK(eventually([&] { return tls_failures(https.server, "timeout") == 1; }));

  // Renegotiation (TLS 1.2): refused by closing the connection.
  Output renegotiate = run("(echo R; sleep 3) | openssl s_client -tls1_2 -CAfile " + pki.ca() +
                           " -connect 127.0.0.1:" + port);
  CHECK(renegotiate.text.find("RENEGOTIATING") != std::string::npos);
  CHECK(eventually([&] { return tls_failures(https.server, "protocol") == 4; }));

  CHECK(https.server.workers() == workers);
  CHECK(curl(pki, https.port, "/").text == "Hello, World!");
}

TEST_CASE("proxy_protocol: the PROXY header comes before the TLS handshake") {
  Pki pki;
  HttpsServer https(pki, {"-b", "127.0.0.1:0", "--proxy-protocol"});
  REQUIRE(https.port > 0);
  Output peer = tool("proxied " + std::to_string(https.port) + " " + pki.ca());
  CHECK(peer.text == "203.0.113.7:4711 https\n");
}

TEST_CASE("a certificate that cannot be used stops the start with exit 2, naming the file") {
  Pki pki;
  TempDir dir;
  std::string garbage = dir.write("garbage.pem", "not a certificate\n");
  Server server(hello_binary(),
                {"-b", "127.0.0.1:0", "--certfile", garbage, "--keyfile", pki.file("server.key")});
  CHECK(server.wait_exit() == 2);
  CHECK(server.log().find(garbage) != std::string::npos);
  // A key that is not the certificate's.
  pki.certificates.issue("other", "DNS:other");
  Server mismatched(hello_binary(), {"-b", "127.0.0.1:0", "--certfile", pki.file("server.pem"),
                                     "--keyfile", pki.file("other.key")});
  CHECK(mismatched.wait_exit() == 2);
  CHECK(mismatched.log().find(pki.file("other.key")) != std::string::npos);
  // --check-config reads them too.
  Server checked(hello_binary(),
                 {"--check-config", "--certfile", garbage, "--keyfile", pki.file("server.key")});
  CHECK(checked.wait_exit() == 2);
}

TEST_CASE("HUP re-reads the certificates; a bad one keeps the old; workers never read keys") {
  Pki pki;
  TempDir live;
  std::filesystem::copy_file(pki.file("server.pem"), live.file("cert.pem"));
  std::filesystem::copy_file(pki.file("server.key"), live.file("key.pem"));
  std::string config = live.write("prefork.toml", file_config());
  Server server(hello_binary(), {"-c", config, "-w", "1", "-b", "127.0.0.1:0", "--certfile",
                                 live.file("cert.pem"), "--keyfile", live.file("key.pem")});
  int port = server.port_of("Listening at: https://");
  REQUIRE(port > 0);
  CHECK(served_subject(port).find("server") != std::string::npos);

  // A rotated certificate at the same path.
  pki.certificates.issue("rotated", "DNS:localhost,IP:127.0.0.1");
  std::filesystem::copy_file(pki.file("rotated.pem"), live.file("cert.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(pki.file("rotated.key"), live.file("key.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  std::vector<pid_t> before = server.workers();
  server.signal(SIGHUP);
  CHECK(eventually([&] { return all_replaced(server.workers(), before); }));
  CHECK(eventually([&] { return served_subject(port).find("rotated") != std::string::npos; }));

  // Garbage in the certificate file: the reload fails, the old certificate stays.
  live.write("cert.pem", "garbage\n");
  before = server.workers();
  server.signal(SIGHUP);
  CHECK(server.wait_for_line("Reload failed").has_value());
  CHECK(server.workers() == before);
  CHECK(served_subject(port).find("rotated") != std::string::npos);

  // Without the key file, a replaced worker still serves: it got its context through fork.
  std::filesystem::remove(live.file("key.pem"));
  kill(before.at(0), SIGKILL);
  CHECK(eventually([&] {
    std::vector<pid_t> now = server.workers();
    return now.size() == 1 && now[0] != before[0];
  }));
  CHECK(curl(pki, port, "/").text == "Hello, World!");
}

namespace {

// Sets PROMETHEUS_SSL_* for the servers started in its scope (they inherit the environment).
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(std::vector<std::pair<std::string, std::string>> variables)
      : variables_(std::move(variables)) {
    for (const auto& [name, value] : variables_) setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : variables_) unsetenv(name.c_str());
  }
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::vector<std::pair<std::string, std::string>> variables_;
};

}  // namespace

TEST_CASE("/metrics over HTTPS with client auth required: no certificate from the CA, no answer") {
  Pki pki;
  Certificates others;
  others.issue("stranger", "DNS:client", true);
  ScopedEnvironment environment({{"PROMETHEUS_SSL_CERTFILE", pki.file("server.pem")},
                                 {"PROMETHEUS_SSL_KEYFILE", pki.file("server.key")},
                                 {"PROMETHEUS_SSL_CLIENT_CAFILE", pki.ca()},
                                 {"PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED", "true"}});
  TempDir dir;
  Server server(hello_binary(),
                {"-c", dir.write("prefork.toml", file_config()), "-w", "1", "-b", "127.0.0.1:0"});
  REQUIRE(server.port() > 0);
  REQUIRE(server.wait_for_line("Metrics listening at: https://").has_value());
  int port = metrics_port(server);
  std::string client = "--cert " + pki.file("client.pem") + " --key " + pki.file("client.key");
  Output scraped = curl(pki, port, "/metrics", client);
  CHECK(scraped.status == 0);
  CHECK(scraped.text.find("gunicorn_master_workers") != std::string::npos);
  CHECK(curl(pki, port, "/metrics").status != 0);
  std::string stranger =
      "--cert " + others.file("stranger.pem") + " --key " + others.file("stranger.key");
  CHECK(curl(pki, port, "/metrics", stranger).status != 0);
  CHECK(eventually([&] {
    Output now = curl(pki, port, "/metrics", client);
    return sum_of(now.text, "gunicorn_master_tls_handshake_errors_total",
                  "reason=\"certificate\"") == 2;
  }));
}

TEST_CASE("/metrics over HTTPS: a hashed CA directory; a silent client is closed in time") {
  Pki pki;
  TempDir cas;
  std::filesystem::copy_file(pki.ca(), cas.file("ca.pem"));
  REQUIRE(run("openssl rehash " + cas.path()).status == 0);
  TempDir dir;
  std::string toml = "header_timeout = 1\n" + file_config() + "ssl_certfile = \"" +
                     pki.file("server.pem") + "\"\nssl_keyfile = \"" + pki.file("server.key") +
                     "\"\nssl_client_capath = \"" + cas.path() +
                     "\"\nssl_client_auth_required = true\n";
  Server server(hello_binary(),
                {"-c", dir.write("prefork.toml", toml), "-w", "1", "-b", "127.0.0.1:0"});
  int port = metrics_port(server);
  REQUIRE(port > 0);
  std::string client = "--cert " + pki.file("client.pem") + " --key " + pki.file("client.key");
  CHECK(curl(pki, port, "/health", client).text.find("\"status\": \"ok\"") != std::string::npos);
  double waited = std::atof(tool("silent " + std::to_string(port)).text.c_str());
  CHECK(waited >= 0.8);
  CHECK(waited < 5);
}

TEST_CASE("`prefork metrics` serves /metrics over HTTPS too") {
  Pki pki;
  TempDir dir;
  std::string toml = file_config() + "multiproc_dir = \"" + dir.path() + "\"\nssl_certfile = \"" +
                     pki.file("server.pem") + "\"\nssl_keyfile = \"" + pki.file("server.key") +
                     "\"\n";
  Server reader(prefork_binary(), {"metrics", "-c", dir.write("prefork.toml", toml)});
  REQUIRE(reader.wait_for_line("Metrics listening at: https://").has_value());
  int port = metrics_port(reader);
  REQUIRE(port > 0);
  CHECK(curl(pki, port, "/health").text.find("\"status\": \"ok\"") != std::string::npos);
  CHECK(http_get(port, "/health", 3s).status == 0);
}
