#include "agent/serf_cli/go_flags.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace kc::serf_cli {

void FlagSet::string(const std::string& name, std::string& target) {
  flags_[name] = {Kind::String, &target};
}
void FlagSet::boolean(const std::string& name, bool& target) {
  flags_[name] = {Kind::Bool, &target};
}
void FlagSet::integer(const std::string& name, int& target) {
  flags_[name] = {Kind::Int, &target};
}
void FlagSet::list(const std::string& name, std::vector<std::string>& target) {
  flags_[name] = {Kind::List, &target};
}

bool FlagSet::was_set(const std::string& name) const {
  return std::find(seen_.begin(), seen_.end(), name) != seen_.end();
}

std::optional<bool> parse_go_bool(const std::string& t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False")
    return false;
  return std::nullopt;
}

namespace {

// strconv.ParseInt(s, 0, 64) as flag's intValue uses it, limited to int: decimal, 0x hex,
// 0 octal, an optional sign, underscores between digits.
std::optional<int> parse_go_int(std::string s) {
  if (s.empty()) return std::nullopt;
  bool negative = s[0] == '-';
  if (s[0] == '-' || s[0] == '+') s.erase(0, 1);
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'b' ? 2 : 8;
    s.erase(0, p == 'x' || p == 'b' || p == 'o' ? 2 : 1);
  }
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size()) continue;
    digits.push_back(s[i]);
  }
  if (digits.empty() || digits[0] == '-' || digits[0] == '+') return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno || *end) return std::nullopt;
  if (negative) v = -v;
  if (v < INT_MIN || v > INT_MAX) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

std::optional<std::string> FlagSet::set(const std::string& name, Flag& flag,
                                        const std::string& value) {
  switch (flag.kind) {
    case Kind::String:
      *static_cast<std::string*>(flag.target) = value;
      break;
    case Kind::List:
      static_cast<std::vector<std::string>*>(flag.target)->push_back(value);
      break;
    case Kind::Bool: {
      auto b = parse_go_bool(value);
      if (!b) return "invalid boolean value \"" + value + "\" for -" + name + ": parse error";
      *static_cast<bool*>(flag.target) = *b;
      break;
    }
    case Kind::Int: {
      auto i = parse_go_int(value);
      if (!i) return "invalid value \"" + value + "\" for flag -" + name + ": parse error";
      *static_cast<int*>(flag.target) = *i;
      break;
    }
  }
  seen_.push_back(name);
  return std::nullopt;
}

std::optional<std::string> FlagSet::parse(const std::vector<std::string>& args) {
  seen_.clear();
  rest_.clear();
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s.size() < 2 || s[0] != '-') break;  // an argument, or a lone "-"
    size_t minuses = 1;
    if (s[1] == '-') {
      minuses = 2;
      if (s.size() == 2) {  // "--" ends the flags and is consumed
        ++i;
        break;
      }
    }
    std::string name = s.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') return "bad flag syntax: " + s;
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      if (name == "help" || name == "h") return std::string("help");
      return "flag provided but not defined: -" + name;
    }
    Flag& flag = it->second;
    if (flag.kind == Kind::Bool) {
      if (auto err = set(name, flag, value.value_or("true"))) return err;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return "flag needs an argument: -" + name;
      value = args[++i];
    }
    if (auto err = set(name, flag, *value)) return err;
  }
  rest_.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return std::nullopt;
}

}  // namespace kc::serf_cli
