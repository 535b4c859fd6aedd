// Kong-style configuration: `key = value` lines in a file (kong.conf), overridden by
// KONG_<KEY> environment variables, overridden by command-line flags. Keys are declared with
// a default, a description of what is allowed and a check, so a bad value is reported with
// its key, where it came from and what would be accepted.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kc::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KeySpec {
  std::string name;
  std::optional<std::string> default_value;  // nullopt = unset unless given
  std::string allowed;                       // for messages: "IPv4:port", "lan|wan|local"
  // Returns "" when valid, else why not (the caller adds key, source and `allowed`).
  std::function<std::string(const std::string&)> check;
  bool sensitive = false;  // masked when printed
};

struct Value {
  std::string text;
  std::string source;  // "default", "kong.conf:12", "env KONG_PG_HOST", "flag --bind"
};

class Settings {
 public:
  explicit Settings(std::vector<KeySpec> specs, std::vector<std::string> ignored_keys = {},
                    std::vector<std::string> ignored_prefixes = {});

  // Reads a kong.conf-style file: `key = value`, `#` comments (also after a value), blank
  // lines. Unknown keys that are not someone else's (Kong's own) are errors.
  void load_file(const std::string& path);
  // KONG_<KEY> for every declared key (case-insensitive key names, upper-case variables).
  void load_env(const std::function<const char*(const char*)>& getenv);
  void set(const std::string& key, const std::string& value, const std::string& source);

  bool has(const std::string& key) const;
  std::string get(const std::string& key) const;  // "" when unset
  const Value* find(const std::string& key) const;
  // Every key with its value and source (sensitive values masked).
  std::vector<std::pair<std::string, Value>> dump() const;

 private:
  const KeySpec& spec(const std::string& key, const std::string& source) const;
  std::map<std::string, KeySpec> specs_;
  std::map<std::string, Value> values_;
  std::vector<std::string> ignored_keys_;
  std::vector<std::string> ignored_prefixes_;
};

// Checks shared by several keys.
std::string check_host_port(const std::string& v);  // IPv4/IPv6 literal and port
std::string check_bool(const std::string& v);       // on/off/true/false/yes/no/1/0
bool parse_bool(const std::string& v);
std::string check_uint(const std::string& v, uint64_t min, uint64_t max);
std::string trim(const std::string& s);
std::vector<std::string> split_list(const std::string& s, char sep = ',');

}  // namespace kc::config
