// Helpers for a libuv loop's whole life, shared by the master and the workers.
#pragma once

#include <uv.h>

namespace prefork {

// Starts closing every handle still open on loop (without close callbacks: their owners are
// going away). The loop must run once more for the closes to complete.
void close_all_handles(uv_loop_t* loop);

}  // namespace prefork
