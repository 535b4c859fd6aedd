#include "common/go_regexp.h"

#include <re2/re2.h>

namespace kc {
namespace {

std::string cut(std::string_view text) {
  constexpr size_t kShown = 256;
  if (text.size() <= kShown) return std::string(text);
  return std::string(text.substr(0, kShown)) + "...";
}

}  // namespace

std::optional<GoRegexp> GoRegexp::compile(std::string_view expr, std::string* error) {
  RE2::Options options;  // UTF-8, Perl classes and operators, leftmost-first: Go's defaults
  options.set_log_errors(false);  // the caller reports the error where it belongs
  auto re = std::make_shared<const RE2>(re2::StringPiece(expr.data(), expr.size()), options);
  if (!re->ok()) {
    // The pattern came from the network and goes into logs, and RE2's reason quotes it again:
    // long ones are cut in both places.
    if (error) *error = "invalid regular expression `" + cut(expr) + "`: " + cut(re->error());
    return std::nullopt;
  }
  return GoRegexp(std::move(re));
}

bool GoRegexp::matches(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

}  // namespace kc
