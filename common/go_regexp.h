// Regular expressions that arrive from the network (members-filtered tags, status and name, query
// tag filters), compiled and matched as Go's regexp does: RE2 syntax and semantics, which is what
// Serf uses. RE2 runs in time linear in the input and bounds the memory a pattern may take, so a
// hostile pattern gets an error or a slow-free answer, never a blown stack or an endless match.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace kc {

class GoRegexp {
 public:
  // Compiles `expr` with Go's syntax (Perl classes, non-greedy operators, UTF-8). On failure
  // returns nullopt and, when `error` is given, sets it to a message naming the pattern and
  // what is wrong with it.
  static std::optional<GoRegexp> compile(std::string_view expr, std::string* error = nullptr);

  // Go's MatchString: whether the expression matches anywhere in `text`. Anchoring is the
  // pattern's business (Serf anchors members filters by writing `^expr$`).
  [[nodiscard]] bool matches(std::string_view text) const;

 private:
  explicit GoRegexp(std::shared_ptr<const re2::RE2> re) : re_(std::move(re)) {}
  std::shared_ptr<const re2::RE2> re_;  // shared: RE2 is immutable and thread-safe once built
};

}  // namespace kc
