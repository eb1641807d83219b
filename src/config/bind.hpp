// Parses one bind address: "HOST:PORT", "[V6]:PORT", ":PORT", "unix:/path" or "fd://N", each
// optionally after "http://" or "https://" (Bind::scheme; which binds speak TLS is load()'s).
#pragma once

#include "config/config.hpp"
#include "config/input.hpp"

#include <string>

namespace prefork::config {

// Fills bind (text included) or says what is wrong with the text.
Status parse_bind(const std::string& text, Bind& bind);

// A port number 0..65535 written in decimal; false for anything else.
bool parse_port(const std::string& text, int& port);

// True for an IPv4 or IPv6 address literal (no brackets).
bool is_ip_address(const std::string& text);

}  // namespace prefork::config
