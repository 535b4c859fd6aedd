// Filter regexes from the network as Go's regexp reads them, an error for a bad pattern, and the
// patterns that make a backtracking engine (std::regex, Boost.Regex) take exponential time or
// recurse until the stack runs out: RE2 answers them at once.
#include "common/go_regexp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace kc {
namespace {

bool go_match(const std::string& expr, const std::string& text) {
  std::string error;
  auto re = GoRegexp::compile(expr, &error);
  EXPECT_TRUE(re) << error;
  return re && re->matches(text);
}

TEST(GoRegexp, UnanchoredLikeMatchString) {
  EXPECT_TRUE(go_match("web", "my-web-1"));
  EXPECT_FALSE(go_match("^web$", "my-web-1"));
  EXPECT_TRUE(go_match("^web-[0-9]+$", "web-12"));
  EXPECT_TRUE(go_match("east|west", "us-west"));
  EXPECT_TRUE(go_match("^$", ""));
  // Serf anchors a members filter by writing ^expr$: with an alternation, ^ binds to the
  // first branch and $ to the last, in Go as here.
  EXPECT_TRUE(go_match("^a|b$", "ax"));
  EXPECT_TRUE(go_match("^a|b$", "xb"));
  EXPECT_FALSE(go_match("^a|b$", "xa"));
}

TEST(GoRegexp, GoSyntax) {
  EXPECT_TRUE(go_match(R"(^\d+\s\w+$)", "42 nodes"));
  EXPECT_TRUE(go_match("(?i)^ALIVE$", "alive"));
  EXPECT_TRUE(go_match(R"(^\pL+$)", "nœud"));  // UTF-8 and Unicode classes, as Go
  EXPECT_TRUE(go_match("^a.*?b", "axxbyyb"));
  EXPECT_TRUE(go_match("^[[:alpha:]]+$", "abc"));
}

TEST(GoRegexp, InvalidPatternIsAClearError) {
  for (const std::string expr : {"([a-", "a{2,1}", "(?<=a)b", "\\1", "*a"}) {
    std::string error;
    EXPECT_FALSE(GoRegexp::compile(expr, &error)) << expr;
    EXPECT_NE(error.find("invalid regular expression `" + expr + "`: "), std::string::npos)
        << error;
  }
  EXPECT_FALSE(GoRegexp::compile("(", nullptr));  // no error text asked for: still no crash
  // A long pattern from the network is cut in the message, which goes into logs.
  std::string error;
  EXPECT_FALSE(GoRegexp::compile(std::string(100000, 'a') + "(", &error));
  EXPECT_LT(error.size(), 700u) << error.substr(0, 400);
  EXPECT_NE(error.find("...`: "), std::string::npos) << error.substr(0, 400);
}

TEST(GoRegexp, PathologicalPatternsFinishAtOnce) {
  auto start = std::chrono::steady_clock::now();
  // Nested quantifiers against a near miss: 2^40 paths for a backtracking engine.
  EXPECT_FALSE(go_match("^(a+)+$", std::string(40, 'a') + "b"));
  EXPECT_FALSE(go_match("^(a|a)*$", std::string(40, 'a') + "b"));
  // A long subject under a starred group: std::regex recurses once per character.
  EXPECT_TRUE(go_match("^(a|b)*$", std::string(1'000'000, 'a')));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  // Nesting deep enough to overflow a recursive parser: RE2's parser keeps its own stack.
  std::string deep = std::string(100'000, '(') + std::string(100'000, ')');
  auto nested = GoRegexp::compile(deep);
  ASSERT_TRUE(nested);
  EXPECT_TRUE(nested->matches(""));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  // A pattern whose program would be huge is refused, not built (Go refuses it too: nested
  // repeat counts above 1000).
  std::string error;
  EXPECT_FALSE(GoRegexp::compile("((((a{100}){100}){100}){100})", &error));
  EXPECT_NE(error.find("invalid repetition size"), std::string::npos) << error;
}

}  // namespace
}  // namespace kc
