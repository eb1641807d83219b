// An owned libuv handle. libuv frees nothing itself and a handle's memory must outlive its
// close, so the handle lives on the heap and is deleted in its close callback: the owner may
// go away at once, and the loop's next turn completes the close. Never copied, closed once.
#pragma once

#include <uv.h>

#include <utility>

namespace prefork {

template <class Handle>
class UvHandle {
 public:
  UvHandle() = default;
  // init is the handle's uv_*_init (uv_timer_init, uv_tcp_init, …), called with the loop
  // and extra; a failed init leaves the UvHandle empty.
  template <class Init, class... Extra>
  UvHandle(uv_loop_t* loop, Init init, Extra&&... extra) : handle_(new Handle) {
    if (init(loop, handle_, std::forward<Extra>(extra)...) != 0) {
      delete handle_;
      handle_ = nullptr;
    }
  }
  ~UvHandle() { reset(); }
  UvHandle(UvHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  Handle* get() const { return handle_; }
  Handle* operator->() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(handle_); }

  // Starts the close; the memory goes in the close callback. A handle that close_all_handles
  // already closes (a loop torn down around it) is left to that close.
  void reset() {
    Handle* handle = std::exchange(handle_, nullptr);
    if (!handle) return;
    auto* base = reinterpret_cast<uv_handle_t*>(handle);
    if (uv_is_closing(base)) return;
    uv_close(base, [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
  }

 private:
  Handle* handle_ = nullptr;
};

using UvTimer = UvHandle<uv_timer_t>;

}  // namespace prefork
