#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/signal_name.hpp"
#include "master/arbiter.hpp"

namespace prefork::master {
namespace {

struct SignalAction {
  int signum;
  void (Arbiter::*handle)();
};

constexpr SignalAction signal_actions[] = {
    {SIGTERM, &Arbiter::handle_term},   {SIGINT, &Arbiter::handle_quit},
    {SIGQUIT, &Arbiter::handle_quit},   {SIGHUP, &Arbiter::handle_hup},
    {SIGTTIN, &Arbiter::handle_ttin},   {SIGTTOU, &Arbiter::handle_ttou},
    {SIGUSR1, &Arbiter::handle_usr1},   {SIGUSR2, &Arbiter::handle_usr2},
    {SIGWINCH, &Arbiter::handle_winch}, {SIGCHLD, &Arbiter::handle_chld},
};

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const SignalAction& action : signal_actions) sigaddset(&set, action.signum);
  return set;
}

}  // namespace

void hold_master_signals() {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void reset_signal_dispositions() {
  for (int signum = 1; signum < NSIG; ++signum) {
    if (signum == SIGKILL || signum == SIGSTOP) continue;
    std::signal(signum, SIG_DFL);
  }
}

// Actions run from a timer, not from the signal callback: a worker forked inside a uv_signal_t
// callback could never finish closing that handle (libuv waits for the signal to be dispatched).
void Arbiter::queue_signal(int signum) {
  pending_signals_.push_back(signum);
  uv_timer_start(
      &signal_dispatch_timer_,
      [](uv_timer_t* timer) { static_cast<Arbiter*>(timer->data)->dispatch_signals(); }, 0, 0);
}

void Arbiter::dispatch_signals() {
  std::vector<int> signals;
  signals.swap(pending_signals_);
  for (int signum : signals) {
    for (const SignalAction& action : signal_actions) {
      if (action.signum != signum) continue;
      if (signum != SIGCHLD) log::info("Handling signal: ", signal_label(signum));
      (this->*action.handle)();
      if (observer_) observer_->signal_handled(signum);
    }
  }
}

void Arbiter::start_signal_handlers() {
  static_assert(std::size(signal_actions) == std::tuple_size_v<decltype(signals_)>);
  // A write to a closed client must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  uv_timer_init(&loop_, &signal_dispatch_timer_);
  signal_dispatch_timer_.data = this;
  for (std::size_t i = 0; i < signals_.size(); ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(
        &signals_[i],
        [](uv_signal_t* handle, int signum) {
          static_cast<Arbiter*>(handle->data)->queue_signal(signum);
        },
        signal_actions[i].signum);
  }
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace prefork::master
