#pragma once

#include <cstdint>

namespace prefork {

inline constexpr const char* version = "0.1.0";

// Bumped whenever App, Request, Response, Responder, Worker, Master or MasterHooks change layout
// or vtable. The loader refuses a .so app built against another value.
// 4: MasterHooks. 5: Responder::stream and Stream (issue 17).
inline constexpr std::uint32_t abi_version = 5;

}  // namespace prefork
