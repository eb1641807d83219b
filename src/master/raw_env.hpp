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
  // entries: "KEY=VALUE", checked by the config loader. The same list again changes nothing.
  void apply(const std::vector<std::string>& entries);

 private:
  void replace(const std::vector<std::string>& entries);

  std::vector<std::string> entries_;  // the list in place
  // Each key the list in place set, with its value from before: nullopt when it was unset.
  std::map<std::string, std::optional<std::string>> replaced_;
};

}  // namespace prefork::master
