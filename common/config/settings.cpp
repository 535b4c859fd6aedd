#include "common/config/settings.h"

#include <arpa/inet.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <fstream>

namespace kc::config {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    auto item = trim(s.substr(start, end - start));
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

std::string check_host_port(const std::string& v) {
  std::string host;
  std::string port;
  if (!v.empty() && v[0] == '[') {
    auto close = v.find(']');
    if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':')
      return "malformed IPv6 address";
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string::npos) return "missing :port";
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1)
    return "'" + host + "' is not an IP address";
  return check_uint(port, 0, 65535).empty() ? "" : "bad port '" + port + "'";
}

std::string check_bool(const std::string& v) {
  static const char* ok[] = {"on", "off", "true", "false", "yes", "no", "1", "0"};
  for (auto* o : ok)
    if (v == o) return "";
  return "not a boolean";
}

bool parse_bool(const std::string& v) {
  return v == "on" || v == "true" || v == "yes" || v == "1";
}

std::string check_uint(const std::string& v, uint64_t min, uint64_t max) {
  if (v.empty() || !std::all_of(v.begin(), v.end(), ::isdigit) || v.size() > 19)
    return "not a whole number";
  uint64_t n = std::stoull(v);
  if (n < min) return "must be at least " + std::to_string(min);
  if (n > max) return "must be at most " + std::to_string(max);
  return "";
}

Settings::Settings(std::vector<KeySpec> specs, std::vector<std::string> ignored_keys,
                   std::vector<std::string> ignored_prefixes)
    : ignored_keys_(std::move(ignored_keys)), ignored_prefixes_(std::move(ignored_prefixes)) {
  for (auto& s : specs) {
    if (s.default_value) values_[s.name] = Value{*s.default_value, "default"};
    specs_[s.name] = std::move(s);
  }
}

const KeySpec& Settings::spec(const std::string& key, const std::string& source) const {
  auto it = specs_.find(key);
  if (it == specs_.end())
    throw ConfigError("unknown configuration key '" + key + "' (" + source + ")");
  return it->second;
}

void Settings::set(const std::string& key, const std::string& value, const std::string& source) {
  const auto& s = spec(key, source);
  if (s.check) {
    if (auto why = s.check(value); !why.empty())
      throw ConfigError("invalid value for " + key + " (" + source + "): " + why +
                        (s.allowed.empty() ? "" : "; allowed: " + s.allowed));
  }
  values_[key] = Value{value, source};
}

void Settings::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read configuration file " + path);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string source = path + ":" + std::to_string(lineno);
    // Kong strips comments that start with an unescaped '#'.
    if (auto hash = line.find('#'); hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      throw ConfigError(fmt::format("{}: expected 'key = value', got '{}'", source, line));
    std::string key = trim(line.substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    std::string value = trim(line.substr(eq + 1));
    if (!specs_.contains(key)) {
      bool theirs =
          std::find(ignored_keys_.begin(), ignored_keys_.end(), key) != ignored_keys_.end();
      for (auto& p : ignored_prefixes_) theirs = theirs || key.rfind(p, 0) == 0;
      if (theirs) continue;  // a Kong setting this agent does not use
    }
    set(key, value, source);
  }
}

void Settings::load_env(const std::function<const char*(const char*)>& getenv) {
  for (auto& [name, s] : specs_) {
    std::string var = "KONG_" + name;
    std::transform(var.begin(), var.end(), var.begin(), ::toupper);
    if (const char* v = getenv(var.c_str())) set(name, v, "env " + var);
  }
}

bool Settings::has(const std::string& key) const {
  auto it = values_.find(key);
  return it != values_.end() && !it->second.text.empty();
}

std::string Settings::get(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second.text;
}

const Value* Settings::find(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

std::vector<std::pair<std::string, Value>> Settings::dump() const {
  std::vector<std::pair<std::string, Value>> out;
  for (auto& [k, v] : values_) {
    Value shown = v;
    if (specs_.at(k).sensitive && !v.text.empty()) shown.text = "******";
    out.emplace_back(k, shown);
  }
  return out;
}

}  // namespace kc::config
