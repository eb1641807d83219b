// The identity of one stored sample: the JSON key (ARCHITECTURE.md, "Metric model"), byte for byte
// what prometheus_client's json.dumps([metric, sample, labels, help], sort_keys=True) writes.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace prefork::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Builds ["metric", "sample", {"a": "1", "b": "2"}, "help"] with labels sorted by name, ", "
// and ": " separators and every non-ASCII character escaped (\uXXXX, surrogate pairs above
// U+FFFF). Bytes that are not valid UTF-8 are written as \ufffd; callers that take text from
// users reject them first with valid_utf8().
std::string json_key(std::string_view metric_name, std::string_view sample_name,
                     const Labels& labels, std::string_view help);

struct KeyParts {
  std::string metric_name;
  std::string sample_name;
  Labels labels;  // sorted by name
  std::string help;
};

// Reads a key written by json_key() or by any JSON writer (whitespace and escapes of every
// form are accepted) into parts; an error says why when the text is not such a key.
Status parse_json_key(std::string_view key, KeyParts& parts);

bool valid_utf8(std::string_view text);

}  // namespace prefork::metrics
