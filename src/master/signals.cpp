#include <csignal>
#include <cstring>
#include <string>

#include "core/log.hpp"
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

// gunicorn logs "Handling signal: term".
std::string lower_signal_name(int signum) {
  std::string name = sigabbrev_np(signum);
  for (char& c : name) c = char(c - 'A' + 'a');
  return name;
}

void on_signal(uv_signal_t* handle, int signum) {
  auto* arbiter = static_cast<Arbiter*>(handle->data);
  for (const SignalAction& action : signal_actions) {
    if (action.signum != signum) continue;
    if (signum != SIGCHLD) log::info("Handling signal: ", lower_signal_name(signum));
    (arbiter->*action.handle)();
    return;
  }
}

}  // namespace

void Arbiter::start_signal_handlers() {
  static_assert(std::size(signal_actions) == std::tuple_size_v<decltype(signals_)>);
  // A write to a closed client must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  for (std::size_t i = 0; i < signals_.size(); ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], on_signal, signal_actions[i].signum);
  }
}

}  // namespace prefork::master
