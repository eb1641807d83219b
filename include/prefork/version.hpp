#pragma once

#include <cstdint>

namespace prefork {

inline constexpr const char* version = "0.1.0";

// Bumped whenever App, Request, Response, Responder, Worker, Master or MasterHooks change layout
// or vtable, or a public header is added. The loader refuses a .so app built against another
// value.
// 4: MasterHooks. 5: issue 17: Worker::post and offload take UniqueFunction (move-only
// callables); Request::worker() and Request::set_route() (the Request grew two fields);
// Responder::stream and Stream; redis_storage.hpp.
inline constexpr std::uint32_t abi_version = 5;

}  // namespace prefork
