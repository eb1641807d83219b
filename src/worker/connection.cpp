#include "worker/connection.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/log.hpp"
#include "http/forwarded.hpp"
#include "http/proxy_protocol.hpp"
#include "http/request_view.hpp"
#include "http/serializer.hpp"
#include "http/status.hpp"
#include "worker/handler_call.hpp"
#include "worker/server.hpp"

namespace prefork::worker {
namespace {

constexpr std::size_t min_read_space = 4 * 1024;
// Parsing pauses while this much output waits for a slow reader.
constexpr std::size_t max_pending_output = 1 << 20;
// How long a closing connection keeps draining the client's input so that the kernel does not
// reset the connection before the client has read our last answer.
constexpr std::uint64_t linger_ms = 2000;
// How long a connection idle between requests stays open once the worker drains: a client that
// has just had an answer is often sending its next request already, which is then answered
// (with Connection: close) rather than lost to a close. Capped by keepalive.
constexpr std::uint64_t drain_last_call_ms = 1000;

Connection& owner(uv_handle_t* handle) {
  return *static_cast<Connection*>(handle->data);
}

}  // namespace

Connection::Connection(Server& server, std::uint32_t index)
    : server_(server), index_(index), parser_(server.config().limits) {
  uv_timer_init(server_.loop(), &timer_);
  timer_.data = this;
  write_request_.data = this;
  shutdown_request_.data = this;
}

bool Connection::accept(int fd, bool unix_socket, const net::tls::ServerContext* tls) {
  int opened;
  if (unix_socket) {
    uv_pipe_init(server_.loop(), &socket_.pipe, 0);
    opened = uv_pipe_open(&socket_.pipe, fd);
  } else {
    uv_tcp_init(server_.loop(), &socket_.tcp);
    opened = uv_tcp_open(&socket_.tcp, fd);
  }
  socket_.handle.data = this;
  open_ = true;
  unix_socket_ = unix_socket;
  if (opened != 0) {
    ::close(fd);
    close();
    return false;
  }
  if (!unix_socket) uv_tcp_nodelay(&socket_.tcp, 1);
  scheme_ = "http";
  if (tls) {
    SSL* session = tls->new_session();
    if (!session) {
      close();
      return false;
    }
    tls_ = std::make_unique<net::tls::ServerSession>(session);
    scheme_ = "https";
  }
  identify_peer(unix_socket);
  after_batch();
  return true;
}

void Connection::identify_peer(bool unix_socket) {
  const config::Config& config = server_.config();
  peer_length_ = 0;
  if (unix_socket) {
    std::size_t size = sizeof peer_;
    if (uv_pipe_getsockname(&socket_.pipe, peer_, &size) == 0) peer_length_ = size;
    // As gunicorn: a peer without an IP address (a unix socket) is a trusted front end.
    trust_forwarded_ = true;
    proxy_state_ = config.proxy_protocol ? ProxyState::expect : ProxyState::none;
    return;
  }
  trust_forwarded_ = false;
  proxy_state_ = config.proxy_protocol ? ProxyState::sniff : ProxyState::none;
  sockaddr_storage address;
  int size = sizeof address;
  if (uv_tcp_getpeername(&socket_.tcp, reinterpret_cast<sockaddr*>(&address), &size) != 0) return;
  const auto* peer = reinterpret_cast<const sockaddr*>(&address);
  write_peer(peer);
  trust_forwarded_ = config.forwarded_allow_ips.allows(peer);
  if (config.proxy_protocol && config.proxy_allow_ips.allows(peer)) {
    proxy_state_ = ProxyState::expect;
  }
}

void Connection::write_peer(const sockaddr* address) {
  char ip[INET6_ADDRSTRLEN] = "";
  int port = 0;
  bool v6 = address->sa_family == AF_INET6;
  if (v6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    uv_ip6_name(in6, ip, sizeof ip);
    port = ntohs(in6->sin6_port);
  } else {
    auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
    uv_ip4_name(in4, ip, sizeof ip);
    port = ntohs(in4->sin_port);
  }
  int written = std::snprintf(peer_, sizeof peer_, v6 ? "[%s]:%d" : "%s:%d", ip, port);
  peer_length_ = written > 0 ? std::min(std::size_t(written), sizeof peer_ - 1) : 0;
}

// A peer of proxy_allow_ips must start with a PROXY header; its source address becomes the
// peer, which forwarded_allow_ips is then checked against. Another peer must not send one.
// Either way a wrong start closes the connection without an answer.
bool Connection::read_proxy_header() {
  char* buffer = work_->buffer.get();
  std::string_view bytes(buffer, filled_);
  if (proxy_state_ == ProxyState::sniff) {
    http::ProxySniff sniff = http::sniff_proxy_header(bytes);
    if (sniff == http::ProxySniff::maybe) return false;
    if (sniff == http::ProxySniff::yes) {
      close();
      return false;
    }
    proxy_state_ = ProxyState::none;
    return true;
  }
  http::ProxyHeader header = http::parse_proxy_header(bytes);
  if (header.outcome == http::ProxyHeader::Outcome::need_more) return false;
  if (header.outcome == http::ProxyHeader::Outcome::malformed) {
    close();
    return false;
  }
  if (header.has_source) {
    sockaddr_storage address{};
    if (header.family == AF_INET) {
      auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(header.port);
      std::memcpy(&in4->sin_addr, header.address.data(), 4);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(header.port);
      std::memcpy(&in6->sin6_addr, header.address.data(), 16);
    }
    const auto* source = reinterpret_cast<const sockaddr*>(&address);
    write_peer(source);
    trust_forwarded_ = server_.config().forwarded_allow_ips.allows(source);
  }
  std::memmove(buffer, buffer + header.consumed, filled_ - header.consumed);
  filled_ -= header.consumed;
  proxy_state_ = ProxyState::none;
  return true;
}

// ---- the read path -------------------------------------------------------------------------

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buffer) {
  Connection& self = owner(handle);
  if (self.lingering_ || !self.work_ || self.tls_) {
    // Input that is thrown away, the first bytes of an idle connection, which may well be its
    // EOF, or ciphertext, which is decrypted into the workspace: the server's scratch space
    // will do until there is something to keep.
    *buffer = self.server_.scratch_buffer();
    return;
  }
  Workspace& work = *self.work_;
  if (work.capacity - self.filled_ < min_read_space && !self.make_room()) {
    *buffer = uv_buf_init(nullptr, 0);
    return;
  }
  *buffer = uv_buf_init(work.buffer.get() + self.filled_, unsigned(work.capacity - self.filled_));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
  Connection& self = owner(reinterpret_cast<uv_handle_t*>(stream));
  if (nread > 0) {
    if (self.lingering_) return;
    if (self.tls_) {
      self.on_ciphertext(buffer->base, std::size_t(nread));
      return;
    }
    if (!self.work_) {
      self.take_workspace();
      std::memcpy(self.work_->buffer.get(), buffer->base, std::size_t(nread));
    }
    self.filled_ += std::size_t(nread);
    self.process_input();
    return;
  }
  if (nread == 0) return;
  if (nread == UV_ENOBUFS) {
    self.on_buffer_full();
    return;
  }
  if (nread != UV_EOF || self.lingering_) {
    self.close();
    return;
  }
  self.on_peer_eof();
}

// The client finished sending (EOF, or TLS close_notify): answer what it asked, then close.
void Connection::on_peer_eof() {
  if (tls_ && !tls_->handshaken()) {
    // A port check that never sent a byte is no failed handshake.
    if (tls_->started()) {
      fail_tls(net::tls::Failure::eof);
    } else {
      close();
    }
    return;
  }
  peer_eof_ = true;
  update_reading();
  // Requests it sent before (parsing paused for a full pipeline or pending output) are answered
  // first: parse_available() ends the input once it has parsed them.
  if (!stop_parsing_ && proxy_state_ == ProxyState::none && parsed_ < filled_) return;
  end_of_input();
  flush();
}

// Nothing more comes from the peer: the last request dispatched closes the connection, or it
// closes now when every answer is out.
void Connection::end_of_input() {
  stop_parsing_ = true;
  if (outstanding() != 0) {
    mark_closing(next_sequence_ - 1);
  } else {
    closing_ = true;
  }
}

// on_alloc found no room. Reading stops, or libuv would ask again on every loop turn. With
// requests outstanding the buffer cannot move, and their answers resume reading; otherwise the
// buffer is at max_buffer and the request is larger than the limits allow.
void Connection::on_buffer_full() {
  uv_read_stop(&socket_.stream);
  reading_ = false;
  if (outstanding() != 0) return;
  in_batch_ = true;
  reject(parser_.phase() == http::Parser::Phase::body ? 413 : 431);
  in_batch_ = false;
  flush();
  if (open_) after_batch();
}

// ---- TLS ----------------------------------------------------------------------------------

void Connection::on_ciphertext(const char* data, std::size_t size) {
  if (!work_) take_workspace();
  if (proxy_state_ != ProxyState::none) {
    if (!read_clear_proxy_header(data, size)) return;
  } else {
    tls_->feed(data, size);
  }
  pump_tls();
  // The scratch buffer is the next read's: what the session has not taken yet, it keeps.
  if (tls_) tls_->keep_unread();
}

// proxy_protocol: the PROXY header comes in clear text before the ClientHello. The bytes after
// it are the handshake's, handed to the session. False while the header is incomplete, and when
// the connection was closed for it.
bool Connection::read_clear_proxy_header(const char* data, std::size_t size) {
  if (capacity() - filled_ < size && (!make_room() || capacity() - filled_ < size)) {
    close();
    return false;
  }
  std::memcpy(work_->buffer.get() + filled_, data, size);
  filled_ += size;
  if (!read_proxy_header()) {
    if (open_) after_batch();
    return false;
  }
  tls_->feed(work_->buffer.get(), filled_);
  tls_->keep_unread();
  filled_ = 0;
  return true;
}

// Handshakes, then decrypts into the buffer and serves what it holds, until the session needs
// more ciphertext or the pipeline and buffer are full.
void Connection::pump_tls() {
  if (!tls_->handshaken() && !advance_handshake()) return;
  pumping_ = true;
  do {
    tls_stalled_ = false;
    Decrypted decrypted = decrypt();
    if (decrypted == Decrypted::stopped) break;
    process_input();
    // Requests that came before the close_notify are answered first.
    if (decrypted == Decrypted::peer_closed) {
      if (open_) on_peer_eof();
      break;
    }
  } while (open_ && tls_stalled_ && !lingering_ && wants_input());
  pumping_ = false;
}

// True once the handshake is done; until then its flights are written and the rest waits for
// the client.
bool Connection::advance_handshake() {
  switch (tls_->handshake(work_->wire)) {
    case net::tls::ServerSession::Progress::done:
      return true;
    case net::tls::ServerSession::Progress::want_more:
      flush();
      if (open_) after_batch();
      return false;
    case net::tls::ServerSession::Progress::failed:
      fail_tls(tls_->failure());
      return false;
  }
  return false;
}

// Stopped: the connection failed, or holds a request larger than the buffer may grow.
Connection::Decrypted Connection::decrypt() {
  for (;;) {
    if (capacity() - filled_ < min_read_space && !make_room()) {
      tls_stalled_ = true;
      // Requests outstanding pin the buffer; unparsed requests free room once parsed.
      if (outstanding() != 0 || parsed_ < filled_) return Decrypted::more;
      on_buffer_full();
      return Decrypted::stopped;
    }
    std::size_t got = 0;
    net::tls::ServerSession::Read read =
        tls_->read(work_->buffer.get() + filled_, capacity() - filled_, got, work_->wire);
    filled_ += got;
    switch (read) {
      case net::tls::ServerSession::Read::data:
        continue;
      case net::tls::ServerSession::Read::want_more:
        return Decrypted::more;
      case net::tls::ServerSession::Read::closed:
        return Decrypted::peer_closed;
      case net::tls::ServerSession::Read::failed:
        fail_tls(tls_->failure());
        return Decrypted::stopped;
    }
  }
}

// The alert (if any) goes out when the socket takes it at once; the connection closes.
void Connection::fail_tls(net::tls::Failure failure) {
  server_.count_tls_failure(failure);
  if (work_ && !work_->wire.empty() && !writing_active_) {
    uv_buf_t chunk = uv_buf_init(work_->wire.data(), unsigned(work_->wire.size()));
    uv_try_write(&socket_.stream, &chunk, 1);
    work_->wire.clear();
  }
  close();
}

// ---- plain input ---------------------------------------------------------------------------

void Connection::process_input() {
  if (proxy_state_ != ProxyState::none) {
    // header_timeout runs from the accept, for the PROXY header, the TLS handshake and the
    // first request.
    if (!read_proxy_header()) {
      if (open_) after_batch();
      return;
    }
  } else if (parser_.phase() == http::Parser::Phase::idle && (!tls_ || served_ != 0)) {
    head_started_ms_ = 0;
  }
  serve_batch();
}

// Parses what the buffer holds and writes the answers, once per batch. Parsing that paused for
// pending output carries on when the socket took all of it at once: no write completion will
// come to resume it.
void Connection::serve_batch() {
  do {
    in_batch_ = true;
    parse_available();
    in_batch_ = false;
    flush();
  } while (open_ && !writing_active_ && !lingering_ && !stop_parsing_ && parsed_ < filled_ &&
           outstanding() < pipeline_depth && pending_output() == 0);
  if (open_) after_batch();
  // The socket may have taken a waiting stream's output at once, and then no write completion
  // comes to tell it.
  if (open_ && outstanding() != 0) {
    Exchange& head = slot(head_sequence_);
    if (head.state == Exchange::State::streaming && head.stream->on_ready &&
        pending_output() < stream_high_water) {
      wake_later(head);
    }
  }
}

void Connection::parse_available() {
  while (!stop_parsing_ && parsed_ < filled_ && outstanding() < pipeline_depth &&
         work_->out.size() < max_pending_output) {
    http::Parser::Outcome outcome = parser_.execute(work_->buffer.get(), parsed_, filled_);
    if (outcome == http::Parser::Outcome::error) {
      reject(parser_.error_status());
      return;
    }
    if (outcome == http::Parser::Outcome::need_more) {
      // Everything read is parsed; chunk framing is forgotten so that only the decoded body
      // takes buffer space and the next read lands right after it.
      parsed_ = filled_ = parser_.drop_framing();
      break;
    }
    parsed_ = parser_.position();
    dispatch_message();
  }
  // The peer finished sending while requests waited in the buffer: they are all parsed now.
  if (peer_eof_ && !stop_parsing_ && parsed_ >= filled_) end_of_input();
  send_continue_if_expected();
}

void Connection::dispatch_message() {
  const http::ForwardedReader& reader = server_.forwarded_reader();
  if (trust_forwarded_ && reader.may_tell(parser_.message())) {
    dispatch_forwarded(reader.read(parser_.message(), work_->buffer.get()));
    return;
  }
  dispatch_as(push_message(), std::string_view(peer_, peer_length_), scheme_);
}

// A trusted front end's word on the client and the scheme replaces the socket's.
void Connection::dispatch_forwarded(const http::Forwarded& forwarded) {
  if (forwarded.conflict) {
    reject(400);
    return;
  }
  Exchange& exchange = push_message();
  std::string_view peer(peer_, peer_length_);
  if (!forwarded.client.empty()) {
    exchange.forwarded_peer_length = std::uint8_t(http::format_forwarded_peer(
        forwarded.client, exchange.forwarded_peer, sizeof exchange.forwarded_peer));
    if (exchange.forwarded_peer_length != 0) {
      peer = std::string_view(exchange.forwarded_peer, exchange.forwarded_peer_length);
    }
  }
  std::string_view scheme = scheme_;
  if (forwarded.scheme_header) scheme = forwarded.https ? "https" : "http";
  dispatch_as(exchange, peer, scheme);
}

// The parsed request becomes the next exchange of the pipeline.
Exchange& Connection::push_message() {
  Exchange& exchange = push_exchange();
  std::swap(exchange.message, parser_.message());
  exchange.close_after = !exchange.message.keep_alive || exchange.message.upgrade;
  if (exchange.close_after) mark_closing(exchange.sequence);
  return exchange;
}

void Connection::dispatch_as(Exchange& exchange, std::string_view peer, std::string_view scheme) {
  std::string_view subject = tls_ ? tls_->client_subject() : std::string_view();
  exchange.request = http::make_request(exchange.message, work_->buffer.get(), exchange.headers,
                                        peer, scheme, subject, &server_);
  continue_sent_ = false;
  head_started_ms_ = 0;
  ++served_;
  server_.dispatch(*this, exchange);
}

void Connection::reject(int status) {
  Exchange& exchange = push_exchange();
  exchange.message.clear();
  exchange.close_after = true;
  mark_closing(exchange.sequence);
  if (server_.observer()) exchange.started_ns = uv_hrtime();
  std::string& target = exchange.sequence == head_sequence_ ? work_->out : exchange.output;
  std::size_t before = target.size();
  http::append_error(target, status, server_.date());
  observe(exchange, status, std::string_view(target).substr(before), nullptr);
  exchange.state = Exchange::State::answered;
  release_answered();
}

// A client that sent "Expect: 100-continue" waits for this before sending the body; it must not
// overtake answers to earlier pipelined requests.
void Connection::send_continue_if_expected() {
  if (continue_sent_ || stop_parsing_ || outstanding() != 0) return;
  if (parser_.phase() != http::Parser::Phase::body || !parser_.message().expect_continue) return;
  work_->out.append(http::continue_line);
  continue_sent_ = true;
}

// ---- answers -------------------------------------------------------------------------------

Exchange& Connection::push_exchange() {
  Exchange& exchange = slot(next_sequence_);
  exchange.sequence = next_sequence_++;
  exchange.state = Exchange::State::dispatched;
  exchange.output.clear();
  exchange.close_after = false;
  exchange.started_ns = 0;
  exchange.stream.reset();
  exchange.handler_running = false;
  return exchange;
}

void Connection::answer(std::uint32_t sequence, const Response& response) {
  if (sequence - head_sequence_ >= outstanding()) return;
  Exchange& exchange = slot(sequence);
  if (exchange.sequence != sequence || exchange.state != Exchange::State::dispatched) return;
  answer(exchange, response);
}

void Connection::answer(Exchange& exchange, const Response& response) {
  exchange.state = Exchange::State::answered;
  bool dropped = !open_ || (has_close_sequence_ && exchange.sequence > close_sequence_);
  if (!dropped) {
    std::string& target = exchange.sequence == head_sequence_ ? work_->out : exchange.output;
    std::size_t before = target.size();
    serialize(exchange, response, target);
    observe(exchange, response.status, std::string_view(target).substr(before), &exchange.request);
  }
  release_answered();
  if (!open_) {
    maybe_release();
    return;
  }
  if (in_batch_) return;
  // An answer from later (async handler, thread pool): write it and resume reading.
  serve_batch();
}

void Connection::handler_returned(std::uint32_t sequence) {
  if (sequence - head_sequence_ >= outstanding()) return;
  Exchange& exchange = slot(sequence);
  if (exchange.sequence != sequence || !exchange.handler_running) return;
  exchange.handler_running = false;
  release_answered();
  if (!open_) {
    maybe_release();
    return;
  }
  if (!in_batch_) serve_batch();
}

// ---- streamed answers ----------------------------------------------------------------------

Exchange* Connection::streaming(std::uint32_t sequence) {
  if (sequence - head_sequence_ >= outstanding()) return nullptr;
  Exchange& exchange = slot(sequence);
  if (exchange.sequence != sequence || exchange.state != Exchange::State::streaming) return nullptr;
  return &exchange;
}

// The head goes out now (or after the answers before it); the body follows as the app writes
// it. A stream that cannot reach the client (closed, or behind an answer that closes) is
// closed from the start.
bool Connection::start_stream(std::uint32_t sequence, const Response& head,
                              std::optional<std::size_t> content_length) {
  if (sequence - head_sequence_ >= outstanding()) return false;
  Exchange& exchange = slot(sequence);
  if (exchange.sequence != sequence || exchange.state != Exchange::State::dispatched) return false;
  exchange.state = Exchange::State::streaming;
  exchange.stream = std::make_unique<StreamState>();
  StreamState& stream = *exchange.stream;
  stream.status = head.status;
  if (!open_ || (has_close_sequence_ && sequence > close_sequence_)) {
    stream.failed = true;
    return true;
  }
  bool http_1_1 = exchange.message.http_major == 1 && exchange.message.http_minor >= 1;
  stream.transfer = content_length ? http::Transfer::length
                    : http_1_1     ? http::Transfer::chunked
                                   : http::Transfer::until_close;
  stream.remaining = content_length.value_or(0);
  stream.body_dropped = exchange.message.head || http::status_forbids_body(head.status);
  // Without a length, an HTTP/1.0 client learns where the body ends from the close.
  if (stream.transfer == http::Transfer::until_close && !stream.body_dropped) {
    exchange.close_after = true;
  }
  std::string& target = output_of(exchange);
  std::size_t before = target.size();
  http::append_stream_head(target, head, server_.date(), framing_for(exchange), stream.transfer,
                           stream.remaining);
  stream.head.assign(target, before, std::string::npos);
  stream.observed = true;
  if (!head.payload().empty()) stream_write(sequence, head.payload());
  if (!in_batch_) serve_batch();
  return true;
}

bool Connection::stream_open(const Exchange& exchange) const {
  return open_ && !exchange.stream->failed &&
         !(has_close_sequence_ && exchange.sequence > close_sequence_);
}

// What the stream has queued that the socket has not taken yet (not counting the batch it is
// writing).
std::size_t Connection::stream_unsent(Exchange& exchange) {
  return exchange.sequence == head_sequence_ ? pending_output() : exchange.output.size();
}

bool Connection::stream_write(std::uint32_t sequence, std::string_view bytes) {
  Exchange* exchange = streaming(sequence);
  if (!exchange || !stream_open(*exchange)) return false;
  StreamState& stream = *exchange->stream;
  if (stream.body_dropped) return true;
  if (stream.transfer == http::Transfer::length) {
    if (bytes.size() > stream.remaining) {
      log::error("stream of ", exchange->request.method(), " ", exchange->request.path(),
                 ": more bytes than its Content-Length; connection reset");
      fail_stream(*exchange);
      return false;
    }
    stream.remaining -= bytes.size();
  }
  if (bytes.empty()) return true;
  std::string& target = output_of(*exchange);
  if (stream.transfer == http::Transfer::chunked) {
    http::append_chunk(target, bytes);
  } else {
    target.append(bytes);
  }
  stream.body_bytes += bytes.size();
  push_stream_output();
  return stream_open(*exchange) && stream_unsent(*exchange) < stream_high_water;
}

void Connection::push_stream_output() {
  if (in_batch_ || !open_) return;
  flush();
  if (open_) update_timer();
}

void Connection::stream_on_ready(std::uint32_t sequence, UniqueFunction<void()> callback) {
  Exchange* exchange = streaming(sequence);
  if (!exchange) return;
  exchange->stream->on_ready = std::move(callback);
  bool ready = !stream_open(*exchange) || stream_unsent(*exchange) < stream_high_water;
  // Not from inside the caller: the callback usually writes, and may register itself again.
  if (ready) wake_later(*exchange);
}

bool Connection::stream_closed(std::uint32_t sequence) {
  Exchange* exchange = streaming(sequence);
  return !exchange || !stream_open(*exchange);
}

void Connection::wake_stream(std::uint32_t sequence) {
  Exchange* exchange = streaming(sequence);
  if (!exchange || !exchange->stream->on_ready) return;
  if (stream_open(*exchange) && stream_unsent(*exchange) >= stream_high_water) return;
  // Taken out first: the callback may end the stream, or register another callback.
  UniqueFunction<void()> callback = std::move(exchange->stream->on_ready);
  exchange->stream->on_ready = nullptr;
  run_app_callback("stream on_ready callback", callback);
}

void Connection::wake_later(const Exchange& exchange) {
  server_.wake_stream_later(token(exchange));
}

void Connection::wake_streams_later() {
  for (std::uint32_t sequence = head_sequence_; sequence != next_sequence_; ++sequence) {
    Exchange& exchange = slot(sequence);
    if (exchange.state == Exchange::State::streaming && exchange.stream->on_ready) {
      wake_later(exchange);
    }
  }
}

void Connection::fail_stream(Exchange& exchange) {
  exchange.stream->failed = true;
  close(true);
}

// The stream leaves the pipeline: complete, its end is framed and the connection goes on with
// its next request; otherwise the connection is reset. Either way the observers hear of it now.
void Connection::stream_finish(std::uint32_t sequence, bool complete) {
  Exchange* found = streaming(sequence);
  if (!found) return;
  Exchange& exchange = *found;
  bool open = stream_open(exchange);
  // Destroyed last: its callback may own objects of the app that call back in here.
  std::unique_ptr<StreamState> stream = std::move(exchange.stream);
  exchange.state = Exchange::State::answered;
  if (open && complete && stream->transfer == http::Transfer::length && stream->remaining != 0 &&
      !stream->body_dropped) {
    log::error("stream of ", exchange.request.method(), " ", exchange.request.path(), ": ended ",
               stream->remaining, " bytes short of its Content-Length; connection reset");
    complete = false;
  }
  if (open && !complete) {
    close(true);
  } else if (open && stream->transfer == http::Transfer::chunked && !stream->body_dropped) {
    output_of(exchange).append(http::last_chunk);
  }
  if (stream->observed) {
    observe(exchange, stream->status, stream->head, &exchange.request, stream->body_bytes);
  }
  release_answered();
  if (!open_) {
    maybe_release();
    return;
  }
  if (!in_batch_) serve_batch();
}

void Connection::serialize(Exchange& exchange, const Response& response, std::string& out) {
  http::append_response(out, response, server_.date(), framing_for(exchange));
}

http::Framing Connection::framing_for(Exchange& exchange) {
  http::Framing framing;
  framing.head_request = exchange.message.head;
  framing.close = exchange.close_after || !server_.keep_alive_enabled() || server_.draining();
  framing.keep_alive_header =
      !framing.close && exchange.message.http_major == 1 && exchange.message.http_minor == 0;
  if (framing.close) mark_closing(exchange.sequence);
  return framing;
}

void Connection::observe(const Exchange& exchange, int status, std::string_view answer,
                         const Request* request, std::size_t streamed_bytes) {
  RequestObserver* observer = server_.observer();
  if (!observer) return;
  RequestRecord record;
  record.status = status;
  record.method = exchange.message.method;
  record.duration_seconds =
      exchange.started_ns ? double(uv_hrtime() - exchange.started_ns) / 1e9 : 0.0;
  record.request_bytes = exchange.message.length;
  record.request = request;
  record.peer = request ? request->peer() : std::string_view(peer_, peer_length_);
  record.answer = answer;
  record.streamed_bytes = streamed_bytes;
  observer->on_request(record);
}

// The answer to `sequence` closes the connection; nothing after it is parsed or written.
void Connection::mark_closing(std::uint32_t sequence) {
  stop_parsing_ = true;
  if (!has_close_sequence_ || sequence < close_sequence_) close_sequence_ = sequence;
  has_close_sequence_ = true;
}

// Moves answered requests off the head of the pipeline, appending their answers in order.
void Connection::release_answered() {
  while (outstanding() != 0) {
    Exchange& head = slot(head_sequence_);
    if (head.state != Exchange::State::answered || head.handler_running) break;
    bool after_close = has_close_sequence_ && head.sequence > close_sequence_;
    if (open_ && !after_close && !head.output.empty()) work_->out.append(head.output);
    if (has_close_sequence_ && head.sequence == close_sequence_) closing_ = true;
    ++head_sequence_;
  }
  // A stream that waited behind earlier answers is at the head now: what it wrote meanwhile
  // joins the output, and what it writes next goes there directly.
  if (outstanding() == 0) return;
  Exchange& head = slot(head_sequence_);
  if (head.state != Exchange::State::streaming) return;
  if (open_ && !head.output.empty()) {
    work_->out.append(head.output);
    head.output.clear();
  }
  if (head.stream->on_ready) wake_later(head);
}

// ---- the write path ------------------------------------------------------------------------

void Connection::flush() {
  if (!open_ || writing_active_ || lingering_) return;
  if (pending_output() == 0) {
    if (closing_ && outstanding() == 0) finish_after_write();
    return;
  }
  if (!tls_) {
    write_out(work_->out);
    return;
  }
  // One write of records for the whole batch, like the one write of plain answers.
  if (!tls_->write(work_->out, work_->wire)) {
    fail_tls(tls_->failure());
    return;
  }
  work_->out.clear();
  write_out(work_->wire);
}

// Writes what the socket takes now; the rest goes to uv_write, which finishes the batch.
void Connection::write_out(std::string& out) {
  uv_buf_t chunk = uv_buf_init(out.data(), unsigned(out.size()));
  int written = uv_try_write(&socket_.stream, &chunk, 1);
  if (written == int(out.size())) {
    out.clear();
    if (closing_ && outstanding() == 0) finish_after_write();
    return;
  }
  if (written < 0 && written != UV_EAGAIN) {
    close();
    return;
  }
  std::size_t sent = written > 0 ? std::size_t(written) : 0;
  std::string& writing = work_->writing;
  writing.swap(out);
  out.clear();
  chunk = uv_buf_init(writing.data() + sent, unsigned(writing.size() - sent));
  if (uv_write(&write_request_, &socket_.stream, &chunk, 1, on_write) != 0) {
    close();
    return;
  }
  writing_active_ = true;
  write_started_ms_ = uv_now(server_.loop());
}

void Connection::on_write(uv_write_t* request, int status) {
  Connection& self = *static_cast<Connection*>(request->data);
  self.writing_active_ = false;
  self.work_->writing.clear();
  if (!self.open_) {
    self.maybe_release();
    return;
  }
  if (status < 0) {
    self.close();
    return;
  }
  self.serve_batch();
  // The socket took a batch: a stream at the head may write again.
  if (self.open_ && self.outstanding() != 0) self.wake_stream(self.head_sequence_);
}

// Our last answer is out: half-close, then drain the client's input for a moment.
void Connection::finish_after_write() {
  if (lingering_) return;
  lingering_ = true;
  if (tls_ && !peer_eof_) send_close_notify();
  if (peer_eof_ || uv_shutdown(&shutdown_request_, &socket_.stream, on_shutdown) != 0) {
    close();
    return;
  }
  arm_timer(uv_now(server_.loop()) + linger_ms);
}

// Best effort: a few bytes into a socket whose last write has completed. A client that reads to
// EOF (HTTP/1.0 without Content-Length) needs it to tell the end from a truncation.
void Connection::send_close_notify() {
  std::string alert;
  tls_->shutdown(alert);
  uv_buf_t chunk = uv_buf_init(alert.data(), unsigned(alert.size()));
  if (!alert.empty()) uv_try_write(&socket_.stream, &chunk, 1);
}

void Connection::on_shutdown(uv_shutdown_t* request, int status) {
  Connection& self = *static_cast<Connection*>(request->data);
  if (!self.open_) {
    self.maybe_release();
    return;
  }
  if (status < 0) {
    self.close();
    return;
  }
  self.update_reading();
}

// ---- buffer, reading, timers ---------------------------------------------------------------

void Connection::take_workspace() {
  work_ = server_.take_workspace();
  if (!work_->buffer) {
    work_->buffer = std::make_unique<char[]>(initial_read_buffer);
    work_->capacity = initial_read_buffer;
  }
}

// Idle: nothing buffered, nothing outstanding, nothing to write. A lingering connection only
// discards input, so it needs no workspace once its last answer is out.
void Connection::release_if_idle() {
  if (!work_ || outstanding() != 0 || writing_active_ || pending_output() != 0) return;
  if (!lingering_ && (filled_ != 0 || parser_.phase() != http::Parser::Phase::idle)) return;
  if (tls_ && !lingering_ && (tls_stalled_ || !tls_->handshaken())) return;
  filled_ = parsed_ = 0;
  // An idle TLS session keeps its keys, not its record buffers.
  if (tls_) tls_->release_buffers();
  give_back_workspace();
}

void Connection::give_back_workspace() {
  work_->out.clear();
  work_->wire.clear();
  work_->writing.clear();
  server_.give_back(std::move(work_));
}

// Requests handed to the app point into the buffer, so it only moves when none is outstanding.
bool Connection::make_room() {
  if (outstanding() != 0) return false;
  compact();
  Workspace& work = *work_;
  if (work.capacity - filled_ >= min_read_space) return true;
  if (work.capacity >= server_.max_buffer()) return work.capacity > filled_;
  std::size_t grown = std::min(work.capacity * 2, server_.max_buffer());
  auto larger = std::make_unique<char[]>(grown);
  std::memcpy(larger.get(), work.buffer.get(), filled_);
  work.buffer = std::move(larger);
  work.capacity = grown;
  return true;
}

void Connection::compact() {
  std::size_t keep_from =
      parser_.phase() == http::Parser::Phase::idle ? parsed_ : parser_.message().start;
  if (keep_from == 0) return;
  char* buffer = work_->buffer.get();
  std::memmove(buffer, buffer + keep_from, filled_ - keep_from);
  filled_ -= keep_from;
  parsed_ -= keep_from;
  if (parser_.phase() != http::Parser::Phase::idle) parser_.shift(keep_from);
}

void Connection::after_batch() {
  if (outstanding() == 0 && !lingering_ && filled_ != 0) compact();
  release_if_idle();
  update_reading();
  update_timer();
  // Answers went out: requests that waited inside the TLS session can be read now.
  if (tls_stalled_ && !pumping_ && open_ && !lingering_ && wants_input()) pump_tls();
}

// Whether more requests may be read now: the pipeline, the pending output and the buffer have
// room for them.
bool Connection::wants_input() const {
  return !stop_parsing_ && !peer_eof_ && outstanding() < pipeline_depth &&
         pending_output() < max_pending_output &&
         (capacity() - filled_ >= min_read_space || outstanding() == 0);
}

void Connection::update_reading() {
  bool want = open_ && (lingering_ || wants_input());
  if (lingering_ && peer_eof_) want = false;
  if (want == reading_) return;
  if (want) {
    reading_ = uv_read_start(&socket_.stream, on_alloc, on_read) == 0;
  } else {
    uv_read_stop(&socket_.stream);
    reading_ = false;
  }
}

bool Connection::idle_while_draining() const {
  return server_.draining() && served_ != 0 && parser_.phase() == http::Parser::Phase::idle &&
         parsed_ == filled_;
}

bool Connection::input_waiting() const {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&socket_.handle), &fd) != 0) return false;
  int waiting = 0;
  return ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0;
}

void Connection::update_timer() {
  if (lingering_) return;
  std::uint64_t now = uv_now(server_.loop());
  if (outstanding() != 0) {
    // The app holds a request (the heartbeat guards against a stuck loop), but a client that
    // stops reading, a stream's above all, gets body_timeout to take each batch of output.
    deadline_ms_ = writing_active_ ? write_started_ms_ + server_.body_timeout_ms() : 0;
  } else if (writing_active_) {
    deadline_ms_ = now + server_.body_timeout_ms();
  } else if (parser_.phase() == http::Parser::Phase::body) {
    // Tested before the head rule: a first request's body also has parsed_ == filled_.
    deadline_ms_ = now + server_.body_timeout_ms();
  } else if (idle_while_draining()) {
    // Idle between requests while the worker stops: a last call for a request on its way, then
    // closed. A connection accepted just before the drain still gets its first request read and
    // answered (its bytes are usually waiting already): closing it would fail a client that did
    // nothing wrong.
    deadline_ms_ = now + std::min(drain_last_call_ms, server_.keepalive_ms());
  } else if (parser_.phase() == http::Parser::Phase::head || (parsed_ == filled_ && served_ == 0) ||
             (parser_.phase() == http::Parser::Phase::idle && parsed_ < filled_)) {
    // Slow clients get header_timeout for the whole head, however they trickle it in.
    if (head_started_ms_ == 0) head_started_ms_ = now;
    deadline_ms_ = head_started_ms_ + server_.header_timeout_ms();
  } else {
    deadline_ms_ = now + server_.keepalive_ms();
  }
  if (deadline_ms_ != 0) arm_timer(deadline_ms_);
}

// The uv timer is only restarted when a deadline moves earlier; a later deadline is picked up
// when the timer fires, which keeps the per-request path free of timer heap operations.
void Connection::arm_timer(std::uint64_t deadline_ms) {
  deadline_ms_ = deadline_ms;
  if (timer_armed_ && armed_deadline_ms_ <= deadline_ms) return;
  std::uint64_t now = uv_now(server_.loop());
  uv_timer_start(&timer_, on_timer, deadline_ms > now ? deadline_ms - now : 0, 0);
  armed_deadline_ms_ = deadline_ms;
  timer_armed_ = true;
}

void Connection::on_timer(uv_timer_t* timer) {
  Connection& self = *static_cast<Connection*>(timer->data);
  self.timer_armed_ = false;
  if (!self.open_ || self.deadline_ms_ == 0) return;
  if (uv_now(self.server_.loop()) < self.deadline_ms_) {
    self.arm_timer(self.deadline_ms_);
    return;
  }
  // The client may have sent its next request since the drain began: it is read and answered
  // (with Connection: close) instead of being lost to a close the client cannot tell from a
  // crash. Only a request still on its way in the next microseconds is lost, as anywhere.
  if (self.idle_while_draining() && self.input_waiting()) {
    self.arm_timer(uv_now(self.server_.loop()) + self.server_.header_timeout_ms());
    return;
  }
  // A port check that never sent a byte is no failed handshake.
  if (self.tls_ && !self.tls_->handshaken() && self.tls_->started()) {
    self.fail_tls(net::tls::Failure::timeout);
    return;
  }
  self.close();
}

// ---- closing and reuse ---------------------------------------------------------------------

// A connection inside its own batch (the request that started the drain) has its timer
// updated when the batch ends.
void Connection::drain() {
  if (open_ && !lingering_ && !in_batch_) update_timer();
}

void Connection::close(bool reset) {
  if (!open_) return;
  // A stream cut short (timeout, write error) must not look whole: an HTTP/1.0 body delimited
  // by the close would.
  if (stream_unfinished()) reset = true;
  open_ = false;
  reading_ = false;
  deadline_ms_ = 0;
  uv_timer_stop(&timer_);
  timer_armed_ = false;
  if (!reset || unix_socket_ || uv_tcp_close_reset(&socket_.tcp, on_closed) != 0) {
    uv_close(&socket_.handle, on_closed);
  }
  server_.on_connection_closed(served_ != 0);
  // Streams learn that they closed from their on_ready callbacks.
  wake_streams_later();
}

bool Connection::stream_unfinished() {
  for (std::uint32_t sequence = head_sequence_; sequence != next_sequence_; ++sequence) {
    if (slot(sequence).state == Exchange::State::streaming) return true;
  }
  return false;
}

void Connection::on_closed(uv_handle_t* handle) {
  Connection& self = owner(handle);
  self.socket_.handle.data = nullptr;
  self.maybe_release();
}

// The object returns to the pool once the socket is closed and no handler can still answer
// (the request views point into this connection's buffer).
void Connection::maybe_release() {
  if (open_ || socket_.handle.data != nullptr || outstanding() != 0 || writing_active_) return;
  if (work_) give_back_workspace();
  tls_.reset();
  tls_stalled_ = false;
  filled_ = parsed_ = 0;
  parser_.reset();
  head_sequence_ = next_sequence_ = close_sequence_ = 0;
  head_started_ms_ = deadline_ms_ = 0;
  served_ = 0;
  stop_parsing_ = closing_ = lingering_ = peer_eof_ = continue_sent_ = false;
  has_close_sequence_ = false;
  in_batch_ = false;
  socket_.handle.data = this;  // marks "not yet released" for the next life
  server_.on_connection_released(index_);
}

void Connection::close_timer() {
  auto* timer = reinterpret_cast<uv_handle_t*>(&timer_);
  if (!uv_is_closing(timer)) uv_close(timer, nullptr);
}

void Connection::retire() {
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_retired);
}

void Connection::on_retired(uv_handle_t* timer) {
  Connection& self = *static_cast<Connection*>(timer->data);
  self.server_.on_connection_retired(self.index_);
}

}  // namespace prefork::worker
