// Command-line flags parsed the way Go's `flag` package parses them, because that is the
// grammar Kong 0.x (and every script written for serf) uses: `-flag value`, `-flag=value`,
// `--flag=value`, boolean flags only as `-flag` or `-flag=BOOL`, flags before the arguments
// (the first non-flag argument, a lone "-", or "--" ends them), repeatable list flags. The
// error texts are the ones Go prints, so a caller sees serf's messages.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kc::serf_cli {

class FlagSet {
 public:
  // Each registration binds a flag name (without dashes) to a variable that Parse fills.
  void string(const std::string& name, std::string& target);
  void boolean(const std::string& name, bool& target);
  void integer(const std::string& name, int& target);
  void list(const std::string& name, std::vector<std::string>& target);  // appends per use
  // Names given on the command line, in order (a repeated flag appears once per use).
  const std::vector<std::string>& seen() const { return seen_; }
  bool was_set(const std::string& name) const;

  // Parses `args` (without the program and command names). On success returns nullopt and
  // args() holds what follows the flags. On failure returns Go's message, e.g.
  // "flag provided but not defined: -x"; "-h"/"-help" (when not registered) return "help".
  std::optional<std::string> parse(const std::vector<std::string>& args);
  const std::vector<std::string>& args() const { return rest_; }

 private:
  enum class Kind { String, Bool, Int, List };
  struct Flag {
    Kind kind;
    void* target;
  };
  std::optional<std::string> set(const std::string& name, Flag& flag, const std::string& value);

  std::map<std::string, Flag> flags_;
  std::vector<std::string> seen_;
  std::vector<std::string> rest_;
};

// strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
std::optional<bool> parse_go_bool(const std::string& text);

}  // namespace kc::serf_cli
