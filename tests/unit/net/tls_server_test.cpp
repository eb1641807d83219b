// net::tls::ServerSession in memory against a client Engine (net/tls/engine.hpp), bytes carried
// by hand: handshakes at both versions and the version floor, ALPN, client certificates,
// renegotiation, input that is not TLS, ciphertext in pieces and under backpressure,
// close_notify, idle buffers; and the errors of ServerContext::make.
#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "net/tls/client_context.hpp"
#include "net/tls/engine.hpp"
#include "net/tls/server_context.hpp"
#include "net/tls/server_session.hpp"
#include "support/certificates.hpp"

using namespace prefork::net;
using prefork::testing::Certificates;
using Progress = tls::ServerSession::Progress;
using Read = tls::ServerSession::Read;
using Verify = tls::ServerOptions::Verify;

namespace {

// Made once for the whole binary: each certificate costs a few openssl runs.
const Certificates& certificates() {
  static Certificates made;
  static const bool issued = [] {
    made.issue("server", "DNS:localhost,IP:127.0.0.1");
    made.issue("client", "DNS:client", true);
    made.issue("stranger", "DNS:stranger", true, "other-ca");
    return true;
  }();
  (void)issued;
  return made;
}

tls::ServerOptions server_options() {
  tls::ServerOptions options;
  options.cert_file = certificates().file("server.pem");
  options.key_file = certificates().file("server.key");
  options.ca_file = certificates().ca();
  return options;
}

std::shared_ptr<const tls::ServerContext> server_context(const tls::ServerOptions& options) {
  prefork::Result<std::shared_ptr<const tls::ServerContext>> made =
      tls::ServerContext::make(options);
  INFO(made.message());
  REQUIRE(made.ok());
  return made.value();
}

struct ClientSetup {
  std::string certificate = "";  // the name of an issued client certificate, "" = none
  std::string trusted = certificates().ca();
  int max_version = 0;    // 0 = OpenSSL's highest
  std::string alpn = "";  // the offer in wire format ("\x02h2"), "" = no ALPN
};

// A client Engine; ssl is its session, for what the Engine does not offer.
struct Client {
  SSL* ssl = nullptr;
  std::unique_ptr<tls::Engine> engine;

  explicit Client(const ClientSetup& setup) {
    tls::ClientOptions options;
    options.ca_file = setup.trusted;
    if (!setup.certificate.empty()) {
      options.cert_file = certificates().file(setup.certificate + ".pem");
      options.key_file = certificates().file(setup.certificate + ".key");
    }
    prefork::Result<std::shared_ptr<tls::ClientContext>> context =
        tls::ClientContext::make(options);
    INFO(context.message());
    REQUIRE(context.ok());
    ssl = context.value()->new_session("localhost");  // the session keeps its context alive
    REQUIRE(ssl != nullptr);
    if (setup.max_version != 0) REQUIRE(SSL_set_max_proto_version(ssl, setup.max_version) == 1);
    if (!setup.alpn.empty()) {
      auto* offer = reinterpret_cast<const unsigned char*>(setup.alpn.data());
      REQUIRE(SSL_set_alpn_protos(ssl, offer, unsigned(setup.alpn.size())) == 0);
    }
    engine = std::make_unique<tls::Engine>(ssl, "server");
  }

  // Decrypts wire; the error when the session failed or was closed.
  prefork::Result<std::string> receive(const std::string& wire) {
    engine->feed(wire);
    return engine->read();
  }
};

// A server session and a client, and the bytes between them.
struct Pair {
  std::shared_ptr<const tls::ServerContext> context;
  tls::ServerSession server;
  Client client;
  std::size_t piece = 1 << 20;  // how much ciphertext each loan to the server holds
  Progress progress = Progress::want_more;
  Read last = Read::want_more;  // the server's last read() answer
  std::string client_error;     // the client's handshake error, if any

  explicit Pair(const ClientSetup& setup = {}, const tls::ServerOptions& options = server_options())
      : Pair(setup, server_context(options)) {}
  Pair(const ClientSetup& setup, std::shared_ptr<const tls::ServerContext> shared)
      : context(std::move(shared)), server(context->new_session()), client(setup) {}

  // Runs both sides until the client has nothing more to send.
  void handshake() {
    for (int round = 0; round < 10; ++round) {
      prefork::Result<bool> state = client.engine->handshake();
      if (!state.ok()) client_error = state.message();
      std::string bytes = client.engine->take_output();
      if (bytes.empty()) return;
      std::string wire;
      to_server(bytes, wire);
      client.engine->feed(wire);
    }
    FAIL("the handshake did not settle");
  }

  // Lends bytes to the server as a connection does: in pieces, from a buffer that is reused
  // once keep_unread() was called; the server handshakes or decrypts after each. Returns the
  // plaintext.
  std::string to_server(const std::string& bytes, std::string& wire) {
    std::string plaintext;
    std::string buffer;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      buffer.assign(bytes, at, piece);
      server.feed(buffer.data(), buffer.size());
      if (!server.handshaken()) progress = server.handshake(wire);
      if (server.handshaken()) drain(plaintext, wire);
      server.keep_unread();
      buffer.assign(buffer.size(), '\xff');
    }
    return plaintext;
  }

  void drain(std::string& plaintext, std::string& wire) {
    char buffer[4096];
    do {
      std::size_t got = 0;
      last = server.read(buffer, sizeof buffer, got, wire);
      plaintext.append(buffer, got);
    } while (last == Read::data);
  }

  // What the server decrypts of plaintext the client sends.
  std::string send(const std::string& plaintext) {
    REQUIRE(client.engine->write(plaintext).ok());
    std::string wire;
    std::string received = to_server(client.engine->take_output(), wire);
    CHECK(wire.empty());
    return received;
  }

  // What the client decrypts of plaintext the server sends.
  std::string answer(const std::string& plaintext) {
    std::string wire;
    REQUIRE(server.write(plaintext, wire));
    prefork::Result<std::string> received = client.receive(wire);
    INFO(received.message());
    REQUIRE(received.ok());
    return received.value();
  }
};

std::string alpn_of(const SSL* ssl) {
  const unsigned char* name = nullptr;
  unsigned size = 0;
  SSL_get0_alpn_selected(ssl, &name, &size);
  return std::string(reinterpret_cast<const char*>(name), size);
}

std::string pattern(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = char('a' + i % 23);
  return text;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a TLS 1.3 handshake, then plaintext both ways") {
  Pair pair;
  CHECK(!pair.server.started());
  pair.handshake();
  CHECK(pair.progress == Progress::done);
  CHECK(pair.server.handshaken());
  CHECK(pair.server.started());
  CHECK(pair.client_error == "");
  CHECK(SSL_version(pair.client.ssl) == TLS1_3_VERSION);
  CHECK(pair.server.failure() == tls::Failure::none);
  CHECK(pair.server.client_subject() == "");

  CHECK(pair.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(pair.last == Read::want_more);
  CHECK(pair.answer("HTTP/1.1 204 No Content\r\n\r\n") == "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_CASE("a TLS 1.2 handshake, then plaintext both ways") {
  Pair pair({.max_version = TLS1_2_VERSION});
  pair.handshake();
  CHECK(pair.progress == Progress::done);
  CHECK(SSL_version(pair.client.ssl) == TLS1_2_VERSION);
  CHECK(pair.send("ping") == "ping");
  CHECK(pair.answer("pong") == "pong");
}

TEST_CASE("a minimum of TLS 1.3 refuses a client that stops at TLS 1.2") {
  tls::ServerOptions options = server_options();
  options.min_version = TLS1_3_VERSION;
  Pair pair({.max_version = TLS1_2_VERSION}, options);
  pair.handshake();
  CHECK(pair.progress == Progress::failed);
  CHECK(pair.server.failure() == tls::Failure::protocol);
  CHECK(pair.server.failure_reason() != "");
  CHECK(pair.client_error != "");
}

TEST_CASE("ALPN: http/1.1 is chosen, a client offering only h2 is refused, none is served") {
  Pair both({.alpn = std::string("\x02h2\x08http/1.0\x08http/1.1", 21)});
  both.handshake();
  CHECK(both.progress == Progress::done);
  CHECK(alpn_of(both.client.ssl) == "http/1.1");

  Pair http10({.alpn = "\x08http/1.0"});
  http10.handshake();
  CHECK(http10.progress == Progress::done);
  CHECK(alpn_of(http10.client.ssl) == "http/1.0");

  Pair h2({.alpn = "\x02h2"});
  h2.handshake();
  CHECK(h2.progress == Progress::failed);
  CHECK(h2.server.failure() == tls::Failure::protocol);
  CHECK(contains(h2.server.failure_reason(), "application protocol"));
  CHECK(contains(h2.client_error, "no application protocol"));

  Pair none;
  none.handshake();
  CHECK(none.progress == Progress::done);
  CHECK(alpn_of(none.client.ssl) == "");

  tls::ServerOptions without = server_options();
  without.alpn_http11 = false;
  Pair ignored({.alpn = "\x02h2"}, without);
  ignored.handshake();
  CHECK(ignored.progress == Progress::done);
  CHECK(alpn_of(ignored.client.ssl) == "");
}

TEST_CASE("client certificates under each verify mode, at TLS 1.3 and 1.2") {
  struct Case {
    Verify verify;
    std::string certificate;
    Progress progress;
    std::string subject;
  };
  const std::vector<Case> cases = {
      {Verify::none, "", Progress::done, ""},
      {Verify::none, "client", Progress::done, ""},  // not asked for, so not sent
      {Verify::none, "stranger", Progress::done, ""},
      {Verify::optional, "", Progress::done, ""},
      {Verify::optional, "client", Progress::done, "CN=client"},
      {Verify::optional, "stranger", Progress::failed, ""},
      {Verify::required, "", Progress::failed, ""},
      {Verify::required, "client", Progress::done, "CN=client"},
      {Verify::required, "stranger", Progress::failed, ""},
  };
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    for (const Case& c : cases) {
      CAPTURE(version);
      CAPTURE(int(c.verify));
      CAPTURE(c.certificate);
      tls::ServerOptions options = server_options();
      options.verify = c.verify;
      Pair pair({.certificate = c.certificate, .max_version = version}, options);
      pair.handshake();
      CHECK(pair.progress == c.progress);
      CHECK(pair.server.client_subject() == c.subject);
      tls::Failure expected =
          c.progress == Progress::done ? tls::Failure::none : tls::Failure::certificate;
      CHECK(pair.server.failure() == expected);
      if (c.progress == Progress::failed) {
        CHECK(pair.server.failure_reason() != "");
        // The client hears of it: at once at 1.2, at its first read at 1.3 (its handshake
        // is over before the server checks its certificate).
        bool refused = pair.client_error != "" || !pair.client.engine->read().ok();
        CHECK(refused);
      }
    }
  }
}

TEST_CASE("a TLS 1.3 KeyUpdate from the client is answered before the next record") {
  Pair pair;
  pair.handshake();
  std::string before;
  REQUIRE(pair.server.write("answer", before));
  REQUIRE(pair.client.receive(before).ok());

  REQUIRE(SSL_key_update(pair.client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1);
  REQUIRE(pair.client.engine->write("after the update").ok());
  std::string wire;
  CHECK(pair.to_server(pair.client.engine->take_output(), wire) == "after the update");
  // OpenSSL 3.0 sends its own KeyUpdate ahead of the next record it writes.
  REQUIRE(pair.server.write("answer", wire));
  CHECK(wire.size() > before.size());
  prefork::Result<std::string> received = pair.client.receive(wire);
  REQUIRE(received.ok());
  CHECK(received.value() == "answer");
}

TEST_CASE("a client with a verified certificate resumes with a ticket on a new session") {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    tls::ServerOptions options = server_options();
    options.verify = Verify::required;
    std::shared_ptr<const tls::ServerContext> context = server_context(options);
    ClientSetup setup{.certificate = "client", .max_version = version};
    Pair first(setup, context);
    first.handshake();
    REQUIRE(first.progress == Progress::done);
    REQUIRE(first.client.engine->read().ok());  // takes in the TLS 1.3 tickets
    SSL_SESSION* ticket = SSL_get1_session(first.client.ssl);
    REQUIRE(ticket != nullptr);

    Pair second(setup, context);
    REQUIRE(SSL_set_session(second.client.ssl, ticket) == 1);
    SSL_SESSION_free(ticket);
    second.handshake();
    CHECK(second.progress == Progress::done);
    CHECK(SSL_session_reused(second.client.ssl) == 1);
    CHECK(second.server.client_subject() == "CN=client");
    CHECK(second.send("resumed") == "resumed");
  }
}

TEST_CASE("client CAs from a hashed directory, or from the system's store") {
  std::string directory = certificates().file("ca-directory");
  std::string hash = "mkdir -p " + directory + " && cp " + certificates().ca() + " " + directory +
                     " && openssl rehash " + directory + " >/dev/null 2>&1";
  REQUIRE(std::system(hash.c_str()) == 0);
  tls::ServerOptions options = server_options();
  options.ca_file = "";
  options.ca_path = directory;
  options.verify = Verify::required;
  Pair hashed({.certificate = "client"}, options);
  hashed.handshake();
  CHECK(hashed.progress == Progress::done);
  CHECK(hashed.server.client_subject() == "CN=client");

  // The system's store does not know the test CA.
  options.ca_path = "";
  Pair system({.certificate = "client"}, options);
  system.handshake();
  CHECK(system.progress == Progress::failed);
  CHECK(system.server.failure() == tls::Failure::certificate);
}

TEST_CASE("a fatal alert from the client is Failure::alert") {
  // A client that trusts another CA rejects the server's certificate with unknown_ca.
  Pair pair({.trusted = certificates().other_ca()});
  pair.handshake();
  CHECK(pair.client_error != "");
  CHECK(pair.progress == Progress::failed);
  CHECK(pair.server.failure() == tls::Failure::alert);
  CHECK(contains(pair.server.failure_reason(), "alert"));
}

TEST_CASE("a TLS 1.2 client that renegotiates fails the session") {
  Pair pair({.max_version = TLS1_2_VERSION});
  pair.handshake();
  REQUIRE(pair.progress == Progress::done);
  REQUIRE(SSL_renegotiate(pair.client.ssl) == 1);
  CHECK(SSL_do_handshake(pair.client.ssl) != 1);  // waits for the server's answer
  std::string wire;
  std::string plaintext = pair.to_server(pair.client.engine->take_output(), wire);
  CHECK(plaintext == "");
  CHECK(pair.last == Read::failed);
  CHECK(pair.server.failure() == tls::Failure::protocol);
  CHECK(contains(pair.server.failure_reason(), "renegotiate"));
  CHECK(!wire.empty());  // the no_renegotiation alert
  std::size_t got = 0;
  char byte;
  CHECK(pair.server.read(&byte, 1, got, wire) == Read::failed);
  CHECK(!pair.server.write("more", wire));
}

TEST_CASE("input that is not TLS fails the handshake as a protocol error") {
  const std::vector<std::string> inputs = {
      std::string("\x01\x02\x03 garbage garbage garbage garbage\r\n", 37),
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      // A handshake record header claiming 0x4801 bytes, one more than a record may hold.
      std::string("\x16\x03\x01\x48\x01", 5) + std::string(0x4801, '\0'),
  };
  for (const std::string& input : inputs) {
    CAPTURE(input.substr(0, 16));
    Pair pair;
    std::string wire;
    pair.to_server(input, wire);
    CHECK(pair.server.started());
    CHECK(pair.progress == Progress::failed);
    CHECK(pair.server.failure() == tls::Failure::protocol);
    CHECK(pair.server.failure_reason() != "");
    std::string more;
    CHECK(pair.server.handshake(more) == Progress::failed);
  }
  Pair http;
  std::string wire;
  http.to_server("GET / HTTP/1.1\r\n\r\n", wire);
  CHECK(contains(http.server.failure_reason(), "http request"));
}

TEST_CASE("ciphertext lent one byte at a time, and in pieces of 7") {
  for (std::size_t piece : {std::size_t(1), std::size_t(7)}) {
    CAPTURE(piece);
    Pair pair;
    pair.piece = piece;
    pair.handshake();
    CHECK(pair.progress == Progress::done);
    CHECK(pair.client_error == "");
    std::string message = pattern(5000);
    CHECK(pair.send(message) == message);
    CHECK(pair.last == Read::want_more);
  }
}

TEST_CASE("100 KiB decrypted into a small buffer that fills up, resumed from held input") {
  Pair pair;
  pair.handshake();
  REQUIRE(pair.progress == Progress::done);
  std::string message = pattern(100 * 1024);
  REQUIRE(pair.client.engine->write(message).ok());
  std::string socket_buffer = pair.client.engine->take_output();
  CHECK(socket_buffer.size() > message.size() + 6 * 16);  // several records

  // The connection's buffer has at most `room` bytes free per batch; once full it stops
  // decrypting, gives the plaintext to the app, and later resumes without a socket read.
  std::string received;
  std::string wire;
  char buffer[3000];
  auto batch = [&](std::size_t room) {
    std::size_t filled = 0;
    Read last = Read::data;
    while (filled < room && last == Read::data) {
      std::size_t got = 0;
      last = pair.server.read(buffer + filled, room - filled, got, wire);
      filled += got;
    }
    received.append(buffer, filled);
    return last;
  };
  pair.server.feed(socket_buffer.data(), socket_buffer.size());
  Read last = batch(sizeof buffer);
  pair.server.keep_unread();
  socket_buffer.assign(socket_buffer.size(), '\xff');  // the read buffer is reused
  int batches = 1;
  while (last == Read::data && batches < 1000) {
    INFO("received " << received.size());
    last = batch(1 + (batches * 997) % sizeof buffer);
    pair.server.keep_unread();
    ++batches;
  }
  CHECK(last == Read::want_more);
  CHECK(received.size() == message.size());
  CHECK(received == message);
  CHECK(batches > 30);
  CHECK(wire.empty());

  std::size_t got = 1;
  CHECK(pair.server.read(buffer, 0, got, wire) == Read::data);
  CHECK(got == 0);
}

TEST_CASE("100 KiB from the server leave as several records") {
  Pair pair;
  pair.handshake();
  std::string message = pattern(100 * 1024);
  std::string wire;
  REQUIRE(pair.server.write(message, wire));
  CHECK(wire.size() > message.size() + 6 * 16);
  prefork::Result<std::string> received = pair.client.receive(wire);
  REQUIRE(received.ok());
  CHECK(received.value() == message);
  std::string empty;
  CHECK(pair.server.write("", empty));
  CHECK(empty.empty());
}

TEST_CASE("close_notify both ways") {
  Pair pair;
  pair.handshake();
  std::string wire;
  pair.server.shutdown(wire);
  CHECK(!wire.empty());
  prefork::Result<std::string> received = pair.client.receive(wire);
  CHECK(!received.ok());
  CHECK(contains(received.message(), "closed"));

  CHECK(SSL_shutdown(pair.client.ssl) >= 0);
  wire.clear();
  pair.to_server(pair.client.engine->take_output(), wire);
  CHECK(pair.last == Read::closed);
  CHECK(pair.server.failure() == tls::Failure::none);
}

TEST_CASE("release_buffers frees while idle, refuses while input is held") {
  Pair pair;
  pair.handshake();
  CHECK(pair.send("first") == "first");
  CHECK(pair.server.release_buffers());
  CHECK(pair.send("after a release") == "after a release");
  CHECK(pair.answer("answer after a release") == "answer after a release");
  CHECK(pair.server.release_buffers());

  // Half a record: OpenSSL holds it and waits for the rest.
  REQUIRE(pair.client.engine->write("a request cut in two").ok());
  std::string ciphertext = pair.client.engine->take_output();
  std::string wire;
  std::string half = ciphertext.substr(0, ciphertext.size() / 2);
  CHECK(pair.to_server(half, wire) == "");
  CHECK(pair.last == Read::want_more);
  CHECK(!pair.server.release_buffers());
  CHECK(pair.to_server(ciphertext.substr(half.size()), wire) == "a request cut in two");
  CHECK(pair.server.release_buffers());

  // Ciphertext kept by keep_unread(): more than OpenSSL takes in one read.
  REQUIRE(pair.client.engine->write(pattern(60000)).ok());
  std::string lots = pair.client.engine->take_output();
  pair.server.feed(lots.data(), lots.size());
  char buffer[100];
  std::size_t got = 0;
  CHECK(pair.server.read(buffer, sizeof buffer, got, wire) == Read::data);
  pair.server.keep_unread();
  CHECK(!pair.server.release_buffers());
}

TEST_CASE("ciphertext kept before OpenSSL read any of it is still input") {
  Pair pair;
  pair.handshake();
  REQUIRE(pair.client.engine->write("kept whole").ok());
  std::string ciphertext = pair.client.engine->take_output();
  // A connection with no room at all lends and keeps at once.
  pair.server.feed(ciphertext.data(), ciphertext.size());
  pair.server.keep_unread();
  ciphertext.assign(ciphertext.size(), '\xff');
  CHECK(!pair.server.release_buffers());
  std::string plaintext;
  std::string wire;
  pair.drain(plaintext, wire);
  CHECK(plaintext == "kept whole");
  CHECK(pair.last == Read::want_more);
  CHECK(pair.server.release_buffers());
}

TEST_CASE("a session started only when a byte arrived") {
  Pair pair;
  pair.server.feed("", 0);
  CHECK(!pair.server.started());
  pair.server.keep_unread();
  char byte = 0x16;
  pair.server.feed(&byte, 1);
  CHECK(pair.server.started());
  std::string wire;
  CHECK(pair.server.handshake(wire) == Progress::want_more);
  pair.server.keep_unread();
  CHECK(wire.empty());
}

TEST_CASE("failure names") {
  CHECK(tls::failure_name(tls::Failure::none) == "none");
  CHECK(tls::failure_name(tls::Failure::timeout) == "timeout");
  CHECK(tls::failure_name(tls::Failure::protocol) == "protocol");
  CHECK(tls::failure_name(tls::Failure::certificate) == "certificate");
  CHECK(tls::failure_name(tls::Failure::alert) == "alert");
  CHECK(tls::failure_name(tls::Failure::eof) == "eof");
}

TEST_CASE("ServerContext::make names the file or setting it could not use") {
  const Certificates& files = certificates();
  std::string garbage = files.write_file("garbage.pem", "not a certificate\n");
  auto error_of = [](const tls::ServerOptions& options) {
    prefork::Result<std::shared_ptr<const tls::ServerContext>> made =
        tls::ServerContext::make(options);
    return made.ok() ? std::string("no error") : made.message();
  };
  auto starts = [](const std::string& text, const std::string& prefix) {
    INFO(text);
    return text.rfind(prefix, 0) == 0;
  };

  tls::ServerOptions options = server_options();
  CHECK(error_of(options) == "no error");

  options.cert_file = files.file("missing.pem");
  CHECK(starts(error_of(options), "certfile " + files.file("missing.pem") + ": "));
  options.cert_file = garbage;
  CHECK(starts(error_of(options), "certfile " + garbage + ": "));

  options = server_options();
  options.key_file = files.file("missing.key");
  CHECK(starts(error_of(options), "keyfile " + files.file("missing.key") + ": "));
  options.key_file = garbage;
  CHECK(starts(error_of(options), "keyfile " + garbage + ": "));
  options.key_file = files.file("client.key");
  CHECK(starts(error_of(options), "keyfile " + files.file("client.key") + ": key values mismatch"));
  std::string rsa = files.file("rsa.key");
  REQUIRE(std::system(("openssl genpkey -algorithm RSA -out " + rsa + " 2>/dev/null").c_str()) ==
          0);
  options.key_file = rsa;
  CHECK(error_of(options) == "keyfile " + rsa + ": does not match certfile " + options.cert_file);
  options.key_file = "";  // the key must then be in the certificate file, and it is not
  CHECK(starts(error_of(options), "keyfile " + files.file("server.pem") + ": "));

  options = server_options();
  options.ca_file = garbage;
  CHECK(starts(error_of(options), "ca_certs " + garbage + ": "));
  options.ca_file = files.file("missing-ca.pem");
  CHECK(starts(error_of(options), "ca_certs " + files.file("missing-ca.pem") + ": "));

  options = server_options();
  options.ciphers = "NOPE";
  CHECK(error_of(options) == "ciphers 'NOPE': no cipher matched");
  options = server_options();
  options.ciphersuites = "NOPE";
  CHECK(error_of(options) == "ciphersuites 'NOPE': no cipher suite matched");
  options.ciphersuites = "TLS_AES_128_GCM_SHA256";
  options.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  CHECK(error_of(options) == "no error");
}

TEST_CASE("an error names the setting as the user spells it: the metrics endpoint's keys") {
  tls::ServerOptions options = server_options();
  options.names = {.cert_file = "metrics.ssl_certfile", .key_file = "metrics.ssl_keyfile"};
  options.key_file = certificates().file("missing.key");
  prefork::Result<std::shared_ptr<const tls::ServerContext>> made =
      tls::ServerContext::make(options);
  REQUIRE_FALSE(made.ok());
  CHECK(made.message().rfind("metrics.ssl_keyfile " + options.key_file + ": ", 0) == 0);
}
