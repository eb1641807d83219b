#include "worker/cpu_window.hpp"

namespace prefork::worker {

double CpuWindow::add(double now_seconds, double cpu_seconds) {
  // Keeps the newest reading at least a span old as the start of the window.
  while (readings_.size() >= 2 && readings_[1].time <= now_seconds - span_seconds) {
    readings_.pop_front();
  }
  double percent = 0;
  if (!readings_.empty()) {
    double elapsed = now_seconds - readings_.front().time;
    if (elapsed > 0) percent = (cpu_seconds - readings_.front().cpu) / elapsed * 100;
  }
  readings_.push_back({now_seconds, cpu_seconds});
  return percent;
}

}  // namespace prefork::worker
