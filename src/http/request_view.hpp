// Turns a parsed Message into the Request view the app sees: no bytes are copied.
#pragma once

#include <prefork/request.hpp>

#include <string_view>
#include <vector>

#include "http/parser.hpp"

namespace prefork::http {

// `headers` is the request's own array, reused from request to request; the views stay valid
// while `buffer` and `headers` are left untouched. peer, scheme and client_subject: as the
// Request accessors of those names give them (static text or storage that outlives the request);
// worker: what Request::worker() returns.
Request make_request(const Message& message, const char* buffer, std::vector<Header>& headers,
                     std::string_view peer, std::string_view scheme = "http",
                     std::string_view client_subject = {}, Worker* worker = nullptr);

}  // namespace prefork::http
