#include "worker/server.hpp"

#include "worker/builtin_metrics.hpp"

#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <exception>
#include <random>
#include <stdexcept>

#include "core/log.hpp"
#include "core/loop.hpp"
#include "http/parser.hpp"

namespace prefork::worker {
namespace {

// TERM and USR1, the signals the worker's loop handles: blocked (SIG_BLOCK) or let through.
void mask_handled_signals(int how) {
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGUSR1);
  pthread_sigmask(how, &handled, nullptr);
}

std::uint64_t to_ms(double seconds) {
  return seconds > 0 ? std::uint64_t(std::llround(seconds * 1000)) : 0;
}

std::uint64_t recycle_after(const config::Config& config) {
  if (config.max_requests <= 0) return 0;
  std::uint64_t jitter = 0;
  if (config.max_requests_jitter > 0) {
    std::random_device seed;
    jitter = std::uniform_int_distribution<std::uint64_t>(
        0, std::uint64_t(config.max_requests_jitter))(seed);
  }
  return std::uint64_t(config.max_requests) + jitter;
}

std::size_t buffer_limit(const config::Limits& limits) {
  std::size_t head =
      limits.request_line > 0 && limits.request_fields > 0 && limits.request_field_size > 0
          ? std::size_t(limits.request_line) +
                std::size_t(limits.request_fields) * (std::size_t(limits.request_field_size) + 4) +
                8
          : std::size_t(1) << 20;
  // Chunk framing is dropped as it is parsed: a body needs room for its decoded bytes and for
  // the reads that bring them in.
  std::size_t body = limits.max_body_size > 0 ? std::size_t(limits.max_body_size) + 16 * 1024
                                              : std::size_t(64) << 20;
  return head + body;
}

// Closed connections' objects kept for reuse; more are freed once their timer is closed.
constexpr std::size_t spare_connection_limit = 256;
// Spare workspaces kept for reuse; more are freed, so that a burst's memory comes back.
constexpr std::size_t spare_workspace_limit = 64;
// A spare keeps a read buffer of at most this size; a larger one, grown by a large request, is
// freed.
constexpr std::size_t spare_buffer_limit = initial_read_buffer;
// Freed memory is handed back to the system once this much has been freed.
constexpr std::size_t trim_threshold = 1 << 20;

std::uint64_t heartbeat_period_ms(double timeout) {
  std::uint64_t half = to_ms(timeout / 2);
  if (half == 0 || half > 1000) return 1000;
  return half < 100 ? 100 : half;
}

struct Offloaded {
  uv_work_t request;
  UniqueFunction<void()> work, done;
  bool failed = false;  // work threw: done is dropped uncalled
};

void run_offloaded(uv_work_t* request) {
  auto& job = *static_cast<Offloaded*>(request->data);
  job.failed = !run_app_callback("offloaded work", job.work);
}

void finish_offloaded(uv_work_t* request, int) {
  std::unique_ptr<Offloaded> job(static_cast<Offloaded*>(request->data));
  if (job->failed || !job->done) return;
  run_app_callback("offloaded completion", job->done);
}

}  // namespace

Server::Server(const Boot& boot, App& app)
    : boot_(boot),
      config_(*boot.config),
      forwarded_reader_(config_.secure_scheme_headers),
      app_(app),
      keepalive_ms_(to_ms(boot.config->keepalive)),
      header_timeout_ms_(to_ms(boot.config->limits.header_timeout)),
      body_timeout_ms_(to_ms(boot.config->limits.body_timeout)),
      max_buffer_(buffer_limit(boot.config->limits)),
      max_requests_(recycle_after(*boot.config)),
      parent_pid_(boot.master_pid != 0 ? boot.master_pid : getppid()) {
  scratch_ = std::make_unique<char[]>(scratch_size);
  if (header_timeout_ms_ == 0) header_timeout_ms_ = UINT32_MAX;
  if (body_timeout_ms_ == 0) body_timeout_ms_ = UINT32_MAX;
  uv_loop_init(&loop_);
  loop_thread_ = std::this_thread::get_id();
  failed_on_loop_ = [this](std::string_view method, std::string_view route,
                           std::string error_type) {
    tell_handler_failed(method, route, error_type);
  };
  if (config_.worker_class == "threads") {
    // The route is the app's text, which need not outlive the request: copied for the loop.
    pool_ = std::make_unique<HandlerPool>(
        app_, *this, config_.threads,
        [this](std::string_view method, std::string_view route, std::string error_type) {
          post([this, method, route = std::string(route), error_type = std::move(error_type)] {
            tell_handler_failed(method, route, error_type);
          });
        },
        [this](std::uint64_t token) { post([this, token] { handler_returned(token); }); });
  } else {
    sync_app_ = dynamic_cast<SyncApp*>(&app_);
  }
  uv_async_init(&loop_, &wakeup_, on_wakeup);
  wakeup_.data = this;
  const int handled[] = {SIGTERM, SIGUSR1};
  for (int i = 0; i < 2; ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], on_signal, handled[i]);
  }
  // The master forks with them blocked; one that arrived during the boot is handled now.
  mask_handled_signals(SIG_UNBLOCK);
  uv_timer_init(&loop_, &accept_pause_timer_);
  accept_pause_timer_.data = this;
  uv_timer_init(&loop_, &heartbeat_timer_);
  heartbeat_timer_.data = this;
  std::uint64_t period = heartbeat_period_ms(config_.timeout);
  uv_timer_start(&heartbeat_timer_, on_heartbeat, period, period);
}

Server::~Server() {
  shut_down();
  pool_.reset();
  uv_loop_close(&loop_);
}

metrics::Registry& Server::metrics() {
  if (!metrics_) throw std::logic_error("worker.metrics() used before the worker started");
  return *metrics_;
}

// ---- listening -----------------------------------------------------------------------------

bool Server::listen() {
  for (const ListenSocket& socket : boot_.listeners) {
    auto listener = std::make_unique<Listener>();
    listener->server = this;
    listener->tls = socket.tls.get();
    if (!open_listener(*listener, socket.fd)) return false;
    listeners_.push_back(std::move(listener));
  }
  update_polling();
  return true;
}

bool Server::open_listener(Listener& listener, int fd) {
  sockaddr_storage address;
  socklen_t size = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    log::error("listening fd ", fd, " is not a socket");
    return false;
  }
  listener.unix_socket = address.ss_family == AF_UNIX;
  int result = uv_poll_init(&loop_, &listener.poll, fd);
  if (result != 0) {
    log::error("cannot listen on fd ", fd, ": ", uv_strerror(result));
    return false;
  }
  listener.fd = fd;
  listener.poll.data = &listener;
  return true;
}

void Server::on_listener_ready(uv_poll_t* poll, int status, int) {
  Listener& listener = *static_cast<Listener*>(poll->data);
  if (status < 0) {
    log::warning("listener poll failed: ", uv_strerror(status));
    return;
  }
  listener.server->accept_from(listener);
}

// One client per readiness, then back to the loop: every worker polling the same socket is
// woken, so the others take the next clients of a burst while this one reads its new one.
// Measured with bench/balance.sh: 64 keep-alive connections split 1.01-1.18 max/min (4 per
// turn: 1.95-2.16), and hello at 1.30x nginx in bench/http.sh.
void Server::accept_from(Listener& listener) {
  constexpr int accepts_per_turn = 1;
  for (int taken = 0; taken < accepts_per_turn && can_accept(); ++taken) {
    int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (accept_failed(errno)) continue;
      break;
    }
    accept_failure_logged_ = false;
    start_connection(listener, fd);
  }
  update_polling();
}

// Clients not accepted stay in the shared queue for another worker (or for this one later).
bool Server::can_accept() const {
  if (draining_ || accept_paused_ || open_connections_ >= config_.worker_connections) return false;
  return max_requests_ == 0 || requests_ + unserved_connections_ < max_requests_;
}

void Server::start_connection(const Listener& listener, int fd) {
  std::uint32_t index;
  if (!free_connections_.empty()) {
    index = free_connections_.back();
    free_connections_.pop_back();
  } else if (!vacant_connections_.empty()) {
    index = vacant_connections_.back();
    vacant_connections_.pop_back();
    connections_[index] = std::make_unique<Connection>(*this, index);
  } else {
    index = std::uint32_t(connections_.size());
    connections_.push_back(std::make_unique<Connection>(*this, index));
  }
  ++open_connections_;
  ++live_connections_;
  ++unserved_connections_;
  connections_[index]->accept(fd, listener.unix_socket, listener.tls);
}

void Server::count_tls_failure(net::tls::Failure failure) {
  if (tls_failures_) tls_failures_->count_tls_failure(failure);
}

bool Server::accept_failed(int error) {
  switch (error) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return false;
    // The client is gone or the network hiccupped: the next client may be fine.
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
      return true;
    default:
      break;
  }
  // Out of descriptors or memory: the client stays queued (not accepted and reset), and the
  // listener is left alone for a while rather than retried at once in a busy loop.
  constexpr std::uint64_t accept_pause_ms = 100;
  if (accept_errors_) accept_errors_->inc();
  if (!accept_failure_logged_) {
    log::error("worker ", boot_.id, " cannot accept: ", std::strerror(error), "; retrying every ",
               accept_pause_ms, " ms");
    accept_failure_logged_ = true;
  }
  accept_paused_ = true;
  uv_timer_start(&accept_pause_timer_, on_accept_pause_over, accept_pause_ms, 0);
  return false;
}

void Server::on_accept_pause_over(uv_timer_t* timer) {
  Server& self = *static_cast<Server*>(timer->data);
  self.accept_paused_ = false;
  self.update_polling();
}

// Level-triggered: a listener with clients pending would wake the loop on every turn, so it
// is only polled while this worker can take one.
void Server::update_polling() {
  bool want = can_accept();
  for (auto& listener : listeners_) {
    if (listener->fd < 0 || listener->polling == want) continue;
    if (want) {
      listener->polling = uv_poll_start(&listener->poll, UV_READABLE, on_listener_ready) == 0;
    } else {
      uv_poll_stop(&listener->poll);
      listener->polling = false;
    }
  }
}

// The poll never owns the descriptor: this worker's copy is closed here, so that once every
// process has closed its copy the kernel refuses new clients.
void Server::close_listener(Listener& listener) {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener.poll)))
    uv_close(reinterpret_cast<uv_handle_t*>(&listener.poll), nullptr);
  if (listener.fd >= 0) ::close(listener.fd);
  listener.fd = -1;
  listener.polling = false;
}

void Server::on_connection_closed(bool served_any) {
  --open_connections_;
  if (!served_any) --unserved_connections_;
  update_polling();
}

void Server::on_connection_released(std::uint32_t index) {
  if (free_connections_.size() < spare_connection_limit) {
    free_connections_.push_back(index);
  } else {
    connections_[index]->retire();
  }
  --live_connections_;
  finish_if_drained();
}

void Server::on_connection_retired(std::uint32_t index) {
  connections_[index].reset();
  vacant_connections_.push_back(index);
  released_bytes_ += sizeof(Connection);
}

std::unique_ptr<Workspace> Server::take_workspace() {
  ++workspaces_held_;
  if (spare_workspaces_.empty()) return std::make_unique<Workspace>();
  std::unique_ptr<Workspace> workspace = std::move(spare_workspaces_.back());
  spare_workspaces_.pop_back();
  return workspace;
}

void Server::give_back(std::unique_ptr<Workspace> workspace) {
  --workspaces_held_;
  if (spare_workspaces_.size() >= spare_workspace_limit) {
    released_bytes_ += sizeof(Workspace) + workspace->capacity;
    return;
  }
  if (workspace->capacity > spare_buffer_limit) {
    released_bytes_ += workspace->capacity;
    workspace->buffer.reset();
    workspace->capacity = 0;
  }
  for (std::string* output : {&workspace->out, &workspace->writing}) {
    if (output->capacity() > spare_buffer_limit) {
      released_bytes_ += output->capacity();
      std::string().swap(*output);
    }
  }
  spare_workspaces_.push_back(std::move(workspace));
}

// glibc keeps freed small blocks in its heap; after a burst of closed connections they would
// stay in the worker's RSS for good.
void Server::trim_released_memory() {
  if (released_bytes_ < trim_threshold) return;
  released_bytes_ = 0;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// ---- requests ------------------------------------------------------------------------------

void Server::dispatch(Connection& connection, Exchange& exchange) {
  if (connection.served() == 1) --unserved_connections_;
  count_request();
  if (boot_.observer) exchange.started_ns = uv_hrtime();
  if (sync_app_) {
    Response response = call_respond(*sync_app_, exchange.request, failed_on_loop_);
    connection.answer(exchange, response);
    return;
  }
  std::uint64_t token = connection.token(exchange);
  if (pool_) {
    exchange.handler_running = true;
    pool_->submit(exchange.request, token);
    return;
  }
  call_handler(app_, exchange.request, *this, token, failed_on_loop_);
}

void Server::handler_returned(std::uint64_t token) {
  if (Connection* connection = connection_of(token)) {
    connection->handler_returned(std::uint32_t(token));
  }
}

void Server::tell_handler_failed(std::string_view method, std::string_view route,
                                 std::string_view error_type) {
  if (boot_.observer) boot_.observer->on_handler_error(method, route, error_type);
}

void Server::count_request() {
  if (boot_.heartbeat) boot_.heartbeat->requests.fetch_add(1, std::memory_order_relaxed);
  ++requests_;
  if (max_requests_ == 0) return;
  if (requests_ == max_requests_) {
    begin_drain("max_requests reached");
  } else {
    update_polling();
  }
}

void Server::complete(std::uint64_t token, Response&& response) {
  if (HandlerCall::hold(token, response)) return;
  if (on_loop()) {
    if (Connection* connection = connection_of(token)) {
      connection->answer(std::uint32_t(token), response);
    }
    return;
  }
  {
    std::lock_guard lock(remote_mutex_);
    remote_answers_.emplace_back(token, std::move(response));
  }
  uv_async_send(&wakeup_);
}

Connection* Server::connection_of(std::uint64_t token) {
  std::uint32_t index = std::uint32_t(token >> 32);
  return index < connections_.size() ? connections_[index].get() : nullptr;
}

bool Server::refuse_off_loop(const char* call) {
  if (on_loop()) return false;
  log::error(call, " called off the worker's loop: use Worker::post to run it there");
  return true;
}

detail::StreamSink* Server::start_stream(std::uint64_t token, Response&& head,
                                         std::optional<std::size_t> content_length) {
  if (refuse_off_loop("Responder::stream")) {
    complete(token, Response::internal_error());
    return nullptr;
  }
  Connection* connection = connection_of(token);
  if (!connection || !connection->start_stream(std::uint32_t(token), head, content_length)) {
    return nullptr;
  }
  return this;
}

bool Server::stream_write(std::uint64_t token, std::string_view bytes) {
  if (refuse_off_loop("Stream::write")) return false;
  Connection* connection = connection_of(token);
  return connection && connection->stream_write(std::uint32_t(token), bytes);
}

void Server::stream_on_ready(std::uint64_t token, UniqueFunction<void()> callback) {
  if (refuse_off_loop("Stream::on_ready")) return;
  if (Connection* connection = connection_of(token)) {
    connection->stream_on_ready(std::uint32_t(token), std::move(callback));
  }
}

bool Server::stream_closed(std::uint64_t token) {
  if (refuse_off_loop("Stream::closed")) return true;
  Connection* connection = connection_of(token);
  return !connection || connection->stream_closed(std::uint32_t(token));
}

// A Stream destroyed on another thread must still leave its connection: that part is posted.
void Server::stream_finish(std::uint64_t token, bool complete) {
  if (!on_loop()) {
    post([this, token, complete] { stream_finish(token, complete); });
    return;
  }
  if (Connection* connection = connection_of(token)) {
    connection->stream_finish(std::uint32_t(token), complete);
  }
}

void Server::wake_stream_later(std::uint64_t token) {
  post([this, token] {
    if (Connection* connection = connection_of(token)) {
      connection->wake_stream(std::uint32_t(token));
    }
  });
}

void Server::post(UniqueFunction<void()> task) {
  {
    std::lock_guard lock(remote_mutex_);
    posted_tasks_.push_back(std::move(task));
  }
  uv_async_send(&wakeup_);
}

// uv_queue_work belongs to the loop's thread: other threads queue through post().
void Server::offload(UniqueFunction<void()> work, UniqueFunction<void()> done) {
  if (!on_loop()) {
    post([this, work = std::move(work), done = std::move(done)]() mutable {
      offload(std::move(work), std::move(done));
    });
    return;
  }
  auto job = std::make_unique<Offloaded>();
  job->work = std::move(work);
  job->done = std::move(done);
  job->request.data = job.get();
  int result = uv_queue_work(&loop_, &job->request, run_offloaded, finish_offloaded);
  if (result != 0) throw std::runtime_error(std::string("uv_queue_work: ") + uv_strerror(result));
  job.release();  // finish_offloaded owns it
}

void Server::on_wakeup(uv_async_t* async) {
  static_cast<Server*>(async->data)->deliver_remote_answers();
}

void Server::deliver_remote_answers() {
  std::vector<std::pair<std::uint64_t, Response>> answers;
  std::vector<UniqueFunction<void()>> tasks;
  {
    std::lock_guard lock(remote_mutex_);
    answers.swap(remote_answers_);
    tasks.swap(posted_tasks_);
  }
  for (auto& [token, response] : answers) complete(token, std::move(response));
  for (auto& task : tasks) run_app_callback("posted task", task);
}

// ---- lifecycle -----------------------------------------------------------------------------

void Server::on_signal(uv_signal_t* handle, int signal) {
  Server& self = *static_cast<Server*>(handle->data);
  if (signal == SIGUSR1) {
    log::reopen();
    return;
  }
  self.begin_drain("SIGTERM");
}

void Server::on_heartbeat(uv_timer_t* timer) {
  Server& self = *static_cast<Server*>(timer->data);
  if (self.boot_.heartbeat) self.boot_.heartbeat->beat();
  self.trim_released_memory();
  if (getppid() != self.parent_pid_) self.begin_drain("the master is gone");
}

void Server::begin_drain(const char* reason) {
  if (draining_) return;
  draining_ = true;
  // Closed before the line is logged: whoever reads it can rely on new clients being refused.
  for (auto& listener : listeners_) close_listener(*listener);
  log::info("worker ", boot_.id, " (pid ", getpid(), ") shutting down: ", reason);
  uv_timer_stop(&accept_pause_timer_);
  for (auto& connection : connections_) connection->drain();
  finish_if_drained();
}

void Server::finish_if_drained() {
  if (draining_ && live_connections_ == 0) uv_stop(&loop_);
}

void Server::serve() {
  if (boot_.heartbeat) {
    boot_.heartbeat->beat();
    boot_.heartbeat->booted.store(true);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Server::close_own_handles() {
  auto close = [](uv_handle_t* handle) {
    if (!uv_is_closing(handle)) uv_close(handle, nullptr);
  };
  for (auto& listener : listeners_) close_listener(*listener);
  for (auto& connection : connections_) {
    if (!connection) continue;
    connection->close();
    connection->close_timer();
  }
  for (auto& signal : signals_) close(reinterpret_cast<uv_handle_t*>(&signal));
  close(reinterpret_cast<uv_handle_t*>(&heartbeat_timer_));
  close(reinterpret_cast<uv_handle_t*>(&accept_pause_timer_));
  close(reinterpret_cast<uv_handle_t*>(&wakeup_));
}

// Whatever the app left open is closed too, so that the loop can be closed.
void Server::shut_down() {
  if (handles_closed_) return;
  handles_closed_ = true;
  // Closing the signal handles restores the default action, which for TERM and USR1 is to
  // die: a worker on its way out lets them wait instead.
  mask_handled_signals(SIG_BLOCK);
  close_own_handles();
  close_all_handles(&loop_);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

}  // namespace prefork::worker
