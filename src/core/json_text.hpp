// JSON strings for log lines: whatever bytes a client sends, the string stays on its line, stays
// a string, and is valid UTF-8, so that a log shipper reads every line as one JSON object.
#pragma once

#include <string>
#include <string_view>

namespace prefork {

// Appends value escaped for the inside of a JSON string (no quotes around it): '"' and '\' with
// a backslash; control characters (and DEL) as \n, \r, \t, \b, \f or \u00XX; U+0085, U+2028
// and U+2029, which some line readers take for line ends, as \uXXXX. Well-formed UTF-8 passes
// unchanged; every byte that does not begin a well-formed sequence (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF) becomes \ufffd.
void append_json_escaped(std::string& out, std::string_view value);

// value escaped as above, between quotes.
void append_json_string(std::string& out, std::string_view value);

}  // namespace prefork
