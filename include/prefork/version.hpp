#pragma once

#include <cstdint>

namespace prefork {

inline constexpr const char* version = "0.1.0";

// Bumped whenever App, Request, Response, Responder or Worker change layout or vtable.
// The loader refuses a .so app built against another value.
inline constexpr std::uint32_t abi_version = 3;  // 3: Request::client_subject()

}  // namespace prefork
