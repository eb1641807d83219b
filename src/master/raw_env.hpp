// raw_env (-e KEY=VALUE): variables set in the master's environment, which workers and the app
// inherit through fork. A reload puts back what the previous list replaced, then sets the new
// list, as gunicorn does.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace prefork::master {

class RawEnvironment {
 public:
  // entries: "KEY=VALUE", checked by the config loader.
  void apply(const std::vector<std::string>& entries);

 private:
  // Each key the current list set, with its value from before: nullopt when it was unset.
  std::map<std::string, std::optional<std::string>> replaced_;
};

}  // namespace prefork::master
