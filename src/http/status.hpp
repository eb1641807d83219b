// Reason phrases of HTTP status codes.
#pragma once

#include <string_view>

namespace prefork::http {

// "OK" for 200, …; "Unknown" for codes without a registered phrase.
std::string_view reason_phrase(int status);

// Statuses whose responses never carry a body or a Content-Length (1xx, 204, 304).
inline bool status_forbids_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace prefork::http
