// A worker process's server: listeners, the connection pool, signals, heartbeat and the app.
#pragma once

#include <uv.h>
#include <prefork/app.hpp>
#include <prefork/metrics.hpp>
#include <prefork/worker.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "http/date.hpp"
#include "http/forwarded.hpp"
#include "net/tls/server_session.hpp"
#include "worker/connection.hpp"
#include "worker/handler_call.hpp"
#include "worker/handler_pool.hpp"
#include "worker/observer.hpp"
#include "worker/run.hpp"

namespace prefork::worker {

class BuiltinMetrics;

class Server final : public Worker, public detail::ResponseSink, public detail::StreamSink {
 public:
  Server(const Boot& boot, App& app);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Wraps and listens on every inherited socket. False (logged) when one cannot be used.
  bool listen();
  // Serves until drained or told to stop.
  void serve();
  // Closes what is left once the app has been told to stop.
  void shut_down();

  // prefork::Worker
  uv_loop_t* loop() override { return &loop_; }
  int id() const override { return boot_.id; }
  const AppConfig& app_config() const override { return config_.app_config; }
  metrics::Registry& metrics() override;
  // What metrics() returns; set before the app is told the worker started.
  void use_metrics(metrics::Registry& registry) { metrics_ = &registry; }
  void post(UniqueFunction<void()> task) override;
  void offload(UniqueFunction<void()> work, UniqueFunction<void()> done) override;

  // detail::ResponseSink: any thread. An answer sent inside the handler call of its request
  // waits for the call's end (HandlerCall).
  void complete(std::uint64_t token, Response&& response) override;
  // On the loop; from another thread the request is answered 500.
  detail::StreamSink* start_stream(std::uint64_t token, Response&& head,
                                   std::optional<std::size_t> content_length) override;

  // detail::StreamSink: on the loop (stream_finish from any thread: it is posted there).
  bool stream_write(std::uint64_t token, std::string_view bytes) override;
  void stream_on_ready(std::uint64_t token, UniqueFunction<void()> callback) override;
  bool stream_closed(std::uint64_t token) override;
  void stream_finish(std::uint64_t token, bool complete) override;
  // A stream's on_ready callback runs from the loop's next turn, if it is still due then.
  void wake_stream_later(std::uint64_t token);

  // For connections.
  void dispatch(Connection& connection, Exchange& exchange);
  std::string_view date() { return date_.get(uv_now(&loop_)); }
  const config::Config& config() const { return config_; }
  const http::ForwardedReader& forwarded_reader() const { return forwarded_reader_; }
  bool draining() const { return draining_; }
  bool keep_alive_enabled() const { return keepalive_ms_ > 0; }
  std::uint64_t keepalive_ms() const { return keepalive_ms_; }
  std::uint64_t header_timeout_ms() const { return header_timeout_ms_; }
  std::uint64_t body_timeout_ms() const { return body_timeout_ms_; }
  std::size_t max_buffer() const { return max_buffer_; }
  RequestObserver* observer() const { return boot_.observer; }
  // Set once the metrics and the access log exist (they need the server's loop); null before
  // the server shuts down.
  void observe_with(RequestObserver* observer) { boot_.observer = observer; }
  // served_any: the connection dispatched a request (else it held a place in the budget).
  void on_connection_closed(bool served_any);
  void on_connection_released(std::uint32_t index);
  // A released connection beyond the spares is gone: its index can hold a new one.
  void on_connection_retired(std::uint32_t index);
  // Workspaces (a read buffer each) for connections with something in flight, from a bounded
  // pool of spares.
  std::unique_ptr<Workspace> take_workspace();
  void give_back(std::unique_ptr<Workspace> workspace);
  // Where connections without a workspace read; valid until their read callback returns.
  uv_buf_t scratch_buffer() { return uv_buf_init(scratch_.get(), unsigned(scratch_size)); }
  // Workspaces that connections hold now; idle connections hold none.
  std::size_t workspaces_held() const { return workspaces_held_; }
  // Connection objects that exist: open ones, closing ones and the spares.
  std::size_t connection_objects() const {
    return connections_.size() - vacant_connections_.size();
  }

  // Where accept failures (EMFILE and the like) are counted; none by default.
  void count_accept_errors_in(metrics::CounterChild& counter) { accept_errors_ = &counter; }
  // Where failed TLS handshakes and sessions are counted, by reason; none by default.
  void count_tls_failures_in(BuiltinMetrics& metrics) { tls_failures_ = &metrics; }
  void count_tls_failure(net::tls::Failure failure);

  // Stops accepting; exits once every connection is gone (SIGTERM, max_requests, master gone).
  void begin_drain(const char* reason);

 private:
  // The worker accepts itself (uv_listen would accept every pending client in one turn, and
  // on EMFILE would accept and close them): a poll on the shared listening socket, at most
  // what the budget allows per readiness.
  struct Listener {
    uv_poll_t poll;
    int fd = -1;  // this worker's copy of the listening socket, closed at drain
    Server* server = nullptr;
    const net::tls::ServerContext* tls = nullptr;  // Boot owns it
    bool unix_socket = false;
    bool polling = false;
  };

  static void on_listener_ready(uv_poll_t* poll, int status, int events);
  static void on_accept_pause_over(uv_timer_t* timer);
  static void on_signal(uv_signal_t* handle, int signal);
  static void on_heartbeat(uv_timer_t* timer);
  static void on_wakeup(uv_async_t* async);

  bool open_listener(Listener& listener, int fd);
  void accept_from(Listener& listener);
  bool can_accept() const;
  void start_connection(const Listener& listener, int fd);
  // True when accepting may go on after errno `error`.
  bool accept_failed(int error);
  void update_polling();
  void close_listener(Listener& listener);
  void count_request();
  // A pool thread's handler for token has returned: its exchange may be released now.
  void handler_returned(std::uint64_t token);
  // The observers count a handler's exception (on the loop).
  void tell_handler_failed(std::string_view method, std::string_view route,
                           std::string_view error_type);
  // The connection a token names, if it still exists.
  Connection* connection_of(std::uint64_t token);
  bool on_loop() const { return std::this_thread::get_id() == loop_thread_; }
  // A Stream call from another thread: logged and refused (true).
  bool refuse_off_loop(const char* call);
  void deliver_remote_answers();
  void finish_if_drained();
  void close_own_handles();
  void trim_released_memory();

  Boot boot_;  // a copy: what the worker was forked with
  const config::Config& config_;
  const http::ForwardedReader forwarded_reader_;
  App& app_;
  SyncApp* sync_app_ = nullptr;  // the direct call path when the app answers at once
  metrics::Registry* metrics_ = nullptr;
  std::unique_ptr<HandlerPool> pool_;
  uv_loop_t loop_;
  std::thread::id loop_thread_;

  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::uint32_t> free_connections_;    // released, ready for a new client
  std::vector<std::uint32_t> vacant_connections_;  // null slots of retired connections
  int open_connections_ = 0;                       // sockets open (worker_connections)
  int live_connections_ = 0;  // objects in use, including closed ones awaiting an answer
  std::vector<std::unique_ptr<Workspace>> spare_workspaces_;
  std::size_t workspaces_held_ = 0;
  std::size_t released_bytes_ = 0;  // freed since the last trim
  // No larger than a workspace's buffer, into which its bytes are copied.
  static constexpr std::size_t scratch_size = initial_read_buffer;
  std::unique_ptr<char[]> scratch_;
  // Open connections that have not dispatched a request yet: each may still bring one, so
  // they count against max_requests before they do.
  std::uint64_t unserved_connections_ = 0;
  uv_timer_t accept_pause_timer_;  // accepting resumes when it fires (after EMFILE and the like)
  bool accept_paused_ = false;
  bool accept_failure_logged_ = false;  // once per run of failures, not per attempt
  metrics::CounterChild* accept_errors_ = nullptr;
  BuiltinMetrics* tls_failures_ = nullptr;

  uv_signal_t signals_[2];
  uv_timer_t heartbeat_timer_;
  uv_async_t wakeup_;
  std::mutex remote_mutex_;
  std::vector<std::pair<std::uint64_t, Response>> remote_answers_;
  std::vector<UniqueFunction<void()>> posted_tasks_;
  HandlerFailure failed_on_loop_;

  http::DateCache date_;
  std::uint64_t keepalive_ms_, header_timeout_ms_, body_timeout_ms_;
  std::size_t max_buffer_;
  std::uint64_t requests_ = 0;
  std::uint64_t max_requests_ = 0;  // 0: no recycling
  int parent_pid_;
  bool draining_ = false;
  bool handles_closed_ = false;
};

}  // namespace prefork::worker
