// A move-only std::function: it holds any callable that can be moved, such as a lambda that
// captures a Responder or a std::unique_ptr, which std::function (copyable targets only) cannot.
// C++23's std::move_only_function does this; GCC 12's library does not have it yet.
//
//   worker.offload([&] { compute(); }, [r = std::move(responder)]() mutable { r.send(...); });
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace prefork {

template <class Signature>
class UniqueFunction;

template <class R, class... Args>
class UniqueFunction<R(Args...)> {
  // Callables this small that move without throwing live inside the object; larger ones on the
  // heap. Four pointers hold a lambda capturing a Responder and two references.
  static constexpr std::size_t inline_size = 4 * sizeof(void*);
  template <class F>
  static constexpr bool stored_inline =
      sizeof(F) <= inline_size &&
      alignof(F) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<F>;

 public:
  UniqueFunction() noexcept = default;
  UniqueFunction(std::nullptr_t) noexcept {}

  // A null function pointer makes an empty UniqueFunction, as with std::function.
  template <class F, class Stored = std::decay_t<F>>
  requires(!std::is_same_v<Stored, UniqueFunction> && std::is_constructible_v<Stored, F> &&
           std::is_invocable_r_v<R, Stored&, Args...>) UniqueFunction(F&& callable) {
    if constexpr (std::is_pointer_v<Stored> || std::is_member_pointer_v<Stored>) {
      if (callable == nullptr) return;
    }
    if constexpr (stored_inline<Stored>) {
      ::new (static_cast<void*>(storage_)) Stored(std::forward<F>(callable));
    } else {
      ::new (static_cast<void*>(storage_)) Stored*(new Stored(std::forward<F>(callable)));
    }
    ops_ = &ops_for<Stored>;
  }

  UniqueFunction(UniqueFunction&& other) noexcept { take(other); }
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  UniqueFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  friend bool operator==(const UniqueFunction& function, std::nullptr_t) noexcept {
    return !function;
  }

  // Calls the target, which may change its own state (a mutable lambda). Throws
  // std::bad_function_call when empty.
  R operator()(Args... args) {
    if (!ops_) throw std::bad_function_call();
    return ops_->invoke(storage_, std::forward<Args>(args)...);
  }

  void swap(UniqueFunction& other) noexcept {
    UniqueFunction held(std::move(other));
    other = std::move(*this);
    *this = std::move(held);
  }

 private:
  struct Ops {
    R (*invoke)(void* storage, Args&&... args);
    // Moves the target from one storage into the other, ending its life in the first.
    void (*relocate)(void* from, void* to) noexcept;
    void (*destroy)(void* storage) noexcept;
  };

  template <class F>
  static F& target(void* storage) noexcept {
    if constexpr (stored_inline<F>) {
      return *std::launder(static_cast<F*>(storage));
    } else {
      return **std::launder(static_cast<F**>(storage));
    }
  }

  template <class F>
  static R invoke(void* storage, Args&&... args) {
    if constexpr (std::is_void_v<R>) {
      std::invoke(target<F>(storage), std::forward<Args>(args)...);
    } else {
      return std::invoke(target<F>(storage), std::forward<Args>(args)...);
    }
  }

  template <class F>
  static void relocate(void* from, void* to) noexcept {
    if constexpr (stored_inline<F>) {
      F& source = target<F>(from);
      ::new (to) F(std::move(source));
      source.~F();
    } else {
      ::new (to) F*(&target<F>(from));
    }
  }

  template <class F>
  static void destroy(void* storage) noexcept {
    if constexpr (stored_inline<F>) {
      target<F>(storage).~F();
    } else {
      delete &target<F>(storage);
    }
  }

  template <class F>
  static constexpr Ops ops_for = {&invoke<F>, &relocate<F>, &destroy<F>};

  void take(UniqueFunction& other) noexcept {
    if (!other.ops_) return;
    other.ops_->relocate(other.storage_, storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }
  void reset() noexcept {
    if (auto* ops = std::exchange(ops_, nullptr)) ops->destroy(storage_);
  }

  alignas(std::max_align_t) std::byte storage_[inline_size];
  const Ops* ops_ = nullptr;
};

}  // namespace prefork
