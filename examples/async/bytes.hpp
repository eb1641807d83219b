// GET /bytes?mib=N: N MiB of zeros, streamed as fast as the client takes them. The length is
// known, so the answer has a Content-Length. write() says when the client is behind and
// on_ready() when to go on: the worker holds a few hundred KiB of the download at most, however
// large it is and however slow the client.
#pragma once

#include <prefork/app.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

#include "query.hpp"

namespace prefork::examples {

// A download in progress, shared by the on_ready callbacks that continue it.
struct Download {
  Stream stream;
  std::size_t left;
};

// Writes until the client is behind, then again once it has caught up. On the loop, like every
// Stream call.
inline void pump(const std::shared_ptr<Download>& download) {
  static constexpr char zeros[64 * 1024] = {};
  while (download->left > 0) {
    std::size_t size = std::min(sizeof zeros, download->left);
    bool more = download->stream.write(std::string_view(zeros, size));
    if (download->stream.closed()) return;  // the client left: dropping the Stream is all
    download->left -= size;
    if (!more) {
      download->stream.on_ready([download] { pump(download); });
      return;
    }
  }
  download->stream.end();
}

inline void bytes(const Request& request, Responder responder) {
  constexpr long largest = 1024;  // 1 GiB
  std::optional<long> mib = query_number(request.query(), "mib");
  if (!mib || *mib < 0 || *mib > largest) {
    responder.send(Response::text(400, "mib must be a whole number from 0 to 1024\n"));
    return;
  }
  // Streams belong to the loop: handle() runs there with the default worker class, but on a
  // handler thread with worker_class = "threads". post() starts the download on the loop either
  // way.
  std::size_t size = std::size_t(*mib) << 20;
  request.worker().post([size, responder = std::move(responder)]() mutable {
    Response head = Response::view(200, "application/octet-stream", {});
    pump(std::make_shared<Download>(Download{responder.stream(std::move(head), size), size}));
  });
}

}  // namespace prefork::examples
