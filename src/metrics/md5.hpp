// MD5 (RFC 1321), only to name Redis keys after their JSON key as the exporter does; not for
// anything that needs a secure hash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace prefork::metrics {

std::array<std::uint8_t, 16> md5(std::string_view data);
// 32 lowercase hex digits, as Python's hashlib.md5(...).hexdigest().
std::string md5_hex(std::string_view data);

}  // namespace prefork::metrics
