// One client connection: reads, parses in place, dispatches requests, writes answers in order.
#pragma once

#include <uv.h>
#include <prefork/request.hpp>
#include <prefork/response.hpp>
#include <prefork/unique_function.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/forwarded.hpp"
#include "http/parser.hpp"
#include "http/serializer.hpp"
#include "net/tls/server_context.hpp"
#include "net/tls/server_session.hpp"

namespace prefork::worker {

class Server;

// A streamed answer (Responder::stream), from its head until the app ends or aborts it.
struct StreamState {
  int status = 0;
  http::Transfer transfer = http::Transfer::chunked;
  bool body_dropped = false;    // HEAD, or a status without a body: the head is all there is
  bool failed = false;          // aborted for a broken Content-Length, or dropped from the start
  bool observed = false;        // its head was sent: the observers hear of it when it finishes
  std::uint64_t remaining = 0;  // Transfer::length: body bytes still due
  std::size_t body_bytes = 0;   // written by the app, for the observers
  std::string head;             // as serialized, for the observers (response headers)
  UniqueFunction<void()> on_ready;
};

// One request of a connection's pipeline, from dispatch until its answer is written out.
struct Exchange {
  enum class State { dispatched, streaming, answered };
  std::uint32_t sequence = 0;
  State state = State::dispatched;
  http::Message message;
  std::vector<Header> headers;
  Request request{Request::Fields{}};
  std::string output;  // the answer, while an earlier one is still outstanding
  bool close_after = false;
  std::uint64_t started_ns = 0;  // only measured when someone observes requests
  // Request::peer() from a trusted X-Forwarded-For ("ip:0"); unused otherwise.
  char forwarded_peer[56];
  std::uint8_t forwarded_peer_length = 0;
  std::unique_ptr<StreamState> stream;  // while State::streaming
  // A pool thread's handler is still running: it may read the request after its answer went
  // out from another thread, so the exchange is not released (nor its slot reused) until then.
  bool handler_running = false;
};

// Requests parsed ahead of their answers; parsing pauses when this many are outstanding.
constexpr std::uint32_t pipeline_depth = 16;
// A stream's write() asks the app to wait once this much of the connection's output is unsent
// (on top of the batch the socket is writing): memory per stream stays near twice this.
constexpr std::size_t stream_high_water = 256 * 1024;
// A workspace's read buffer to begin with; it grows for large requests.
constexpr std::size_t initial_read_buffer = 16 * 1024;

// What a connection needs only while it has something in flight: the read buffer, the
// pipeline's requests and the answers on their way out. An idle connection hands it back to
// the server's pool, so that an idle keep-alive connection costs little memory.
struct Workspace {
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  std::array<Exchange, pipeline_depth> exchanges;
  std::string out;      // answers gathered during a batch
  std::string wire;     // TLS: records to send (handshake flights, out encrypted)
  std::string writing;  // bytes handed to uv_write
};

class Connection {
 public:
  Connection(Server& server, std::uint32_t index);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Takes an accepted client socket and starts reading; tls: the listener speaks TLS with this
  // context. False: it could not be used (closed).
  bool accept(int fd, bool unix_socket, const net::tls::ServerContext* tls = nullptr);
  // Answers the request `sequence` (a token's low half); a stale sequence is ignored.
  void answer(std::uint32_t sequence, const Response& response);
  void answer(Exchange& exchange, const Response& response);
  // Streamed answers (Responder::stream), by the request's sequence; a stale one is ignored
  // (closed). start_stream: false when the sequence is stale.
  bool start_stream(std::uint32_t sequence, const Response& head,
                    std::optional<std::size_t> content_length);
  bool stream_write(std::uint32_t sequence, std::string_view bytes);
  void stream_on_ready(std::uint32_t sequence, UniqueFunction<void()> callback);
  bool stream_closed(std::uint32_t sequence);
  void stream_finish(std::uint32_t sequence, bool complete);
  // Runs the stream's on_ready callback if it can take more (or has closed).
  void wake_stream(std::uint32_t sequence);
  // The handler of the request `sequence`, run on a pool thread, has returned.
  void handler_returned(std::uint32_t sequence);
  // The worker stops: an idle connection closes at once, a busy one after its answer (answers
  // carry "Connection: close" while the server drains).
  void drain();
  // Drops the connection now, whatever is pending; reset: with a TCP reset, so that the client
  // cannot mistake what it received for a whole answer (always when a stream is cut short).
  void close(bool reset = false);
  // Closes the always-open timer, when the worker exits.
  void close_timer();
  // For a released connection the server does not keep: closes the timer, then the server
  // destroys this object.
  void retire();

  std::uint32_t index() const { return index_; }
  // Requests dispatched on this connection so far.
  std::uint32_t served() const { return served_; }
  std::uint64_t token(const Exchange& exchange) const {
    return (std::uint64_t(index_) << 32) | exchange.sequence;
  }

 private:
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer);
  static void on_write(uv_write_t* request, int status);
  static void on_shutdown(uv_shutdown_t* request, int status);
  static void on_closed(uv_handle_t* handle);
  static void on_timer(uv_timer_t* timer);
  static void on_retired(uv_handle_t* timer);

  // The read path, in the order a batch of bytes goes through it.
  void on_peer_eof();
  void end_of_input();
  void on_buffer_full();
  // TLS: ciphertext is decrypted into the buffer, then parsed as plain HTTP is.
  void on_ciphertext(const char* data, std::size_t size);
  bool read_clear_proxy_header(const char* data, std::size_t size);
  void pump_tls();
  bool advance_handshake();
  enum class Decrypted { more, peer_closed, stopped };
  Decrypted decrypt();
  void fail_tls(net::tls::Failure failure);
  void process_input();
  void serve_batch();
  void parse_available();
  void dispatch_message();
  void dispatch_forwarded(const http::Forwarded& forwarded);
  Exchange& push_message();
  void dispatch_as(Exchange& exchange, std::string_view peer, std::string_view scheme);
  void reject(int status);
  void send_continue_if_expected();
  void flush();
  void write_out(std::string& bytes);
  void send_close_notify();
  void after_batch();

  // Pipeline bookkeeping.
  std::uint32_t outstanding() const { return next_sequence_ - head_sequence_; }
  Exchange& slot(std::uint32_t sequence) { return work_->exchanges[sequence % pipeline_depth]; }
  Exchange& push_exchange();
  void serialize(Exchange& exchange, const Response& response, std::string& out);
  http::Framing framing_for(Exchange& exchange);
  // Where an exchange's answer goes: the batch's output for the pipeline's head, its own
  // otherwise.
  std::string& output_of(Exchange& exchange) {
    return exchange.sequence == head_sequence_ ? work_->out : exchange.output;
  }
  Exchange* streaming(std::uint32_t sequence);
  bool stream_open(const Exchange& exchange) const;
  std::size_t stream_unsent(Exchange& exchange);
  // Output of a stream outside a batch goes to the socket at once.
  void push_stream_output();
  void wake_later(const Exchange& exchange);
  void wake_streams_later();
  // A stream that breaks its framing: the connection is reset.
  void fail_stream(Exchange& exchange);
  void mark_closing(std::uint32_t sequence);
  void release_answered();
  // request: null when the request was rejected before it was parsed. streamed_bytes: a
  // streamed body, whose head alone is the answer.
  void observe(const Exchange& exchange, int status, std::string_view answer,
               const Request* request, std::size_t streamed_bytes = 0);

  // Buffer management.
  void take_workspace();
  void release_if_idle();
  void give_back_workspace();
  std::size_t capacity() const { return work_ ? work_->capacity : 0; }
  std::size_t pending_output() const { return work_ ? work_->out.size() + work_->wire.size() : 0; }
  bool make_room();
  void compact();

  bool wants_input() const;
  // Between requests while the worker stops: the connection may close without losing a request.
  bool idle_while_draining() const;
  // Bytes the kernel holds for this socket that no read has taken yet (a request on its way).
  bool input_waiting() const;
  void update_reading();
  void update_timer();
  void arm_timer(std::uint64_t deadline_ms);
  void finish_after_write();
  void maybe_release();
  // An outstanding exchange is a stream not yet ended.
  bool stream_unfinished();
  // The peer's text and what it is trusted with (forwarded_allow_ips, proxy_allow_ips).
  void identify_peer(bool unix_socket);
  void write_peer(const sockaddr* address);
  // proxy_protocol: the PROXY header before the first request. False while it is incomplete,
  // and when the connection was closed for it.
  bool read_proxy_header();

  Server& server_;
  const std::uint32_t index_;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } socket_;
  uv_timer_t timer_;
  uv_write_t write_request_;
  uv_shutdown_t shutdown_request_;

  std::unique_ptr<Workspace> work_;  // null while idle
  std::size_t filled_ = 0;           // bytes received
  std::size_t parsed_ = 0;           // bytes the parser has consumed
  http::Parser parser_;

  std::uint32_t head_sequence_ = 0;  // the oldest request whose answer is not written out
  std::uint32_t next_sequence_ = 0;
  std::uint32_t close_sequence_ = 0;  // answers after this one are dropped
  bool has_close_sequence_ = false;

  std::unique_ptr<net::tls::ServerSession> tls_;  // null on plain HTTP
  // Decrypting stopped for want of room in the buffer: input waits inside the session, and no
  // socket read will announce it.
  bool tls_stalled_ = false;
  bool pumping_ = false;  // inside pump_tls()

  char peer_[64] = {};
  std::size_t peer_length_ = 0;
  // The listener's scheme. Trusted secure scheme headers override it per request.
  std::string_view scheme_ = "http";
  // What the first bytes must be (proxy_protocol): a PROXY header (expect, a proxy_allow_ips
  // peer), or anything but one (sniff, another peer); none once they have been read.
  enum class ProxyState : std::uint8_t { none, expect, sniff };
  ProxyState proxy_state_ = ProxyState::none;
  bool trust_forwarded_ = false;  // the peer is in forwarded_allow_ips: once per connection

  std::uint64_t head_started_ms_ = 0;  // when the current request's first byte arrived
  std::uint64_t deadline_ms_ = 0;      // 0: no timeout applies now
  std::uint64_t armed_deadline_ms_ = 0;
  std::uint64_t write_started_ms_ = 0;  // when the socket's current uv_write began
  std::uint32_t served_ = 0;

  bool open_ = false;  // the socket handle is initialised and not closed
  bool unix_socket_ = false;
  bool reading_ = false;
  bool in_batch_ = false;  // answers wait for the batch's single write
  bool writing_active_ = false;
  bool stop_parsing_ = false;  // a closing answer is due: later requests are ignored
  bool closing_ = false;       // close once the output is written
  bool lingering_ = false;     // our side is shut down; discarding input until the peer closes
  bool peer_eof_ = false;
  bool continue_sent_ = false;
  bool timer_armed_ = false;
};

}  // namespace prefork::worker
