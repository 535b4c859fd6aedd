// Go's encoding/json string escaping, which `serf members -format json` output must match.
#include "agent/cli/go_json.h"

#include <gtest/gtest.h>

namespace kc::test {
namespace {

using kc::cli::go_json_quote;

TEST(GoJson, ShortEscapesOnlyForNewlineReturnTab) {
  EXPECT_EQ(go_json_quote("a\tb\nc\rd"), "\"a\\tb\\nc\\rd\"");
  EXPECT_EQ(go_json_quote("\b\f\x01\x1f"), "\"\\u0008\\u000c\\u0001\\u001f\"");
  EXPECT_EQ(go_json_quote("\"\\"), "\"\\\"\\\\\"");
  EXPECT_EQ(go_json_quote(std::string_view("a\0b", 3)), "\"a\\u0000b\"");
}

TEST(GoJson, HtmlCharactersEscaped) {
  EXPECT_EQ(go_json_quote("<a>&"), "\"\\u003ca\\u003e\\u0026\"");
}

TEST(GoJson, Utf8KeptInvalidBytesReplaced) {
  EXPECT_EQ(go_json_quote("k\xc3\xa9y \xe2\x82\xac"), "\"k\xc3\xa9y \xe2\x82\xac\"");
  EXPECT_EQ(go_json_quote("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  EXPECT_EQ(go_json_quote("a\xffz"), "\"a\\ufffdz\"");
  EXPECT_EQ(go_json_quote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(go_json_quote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(go_json_quote("\xe2\x82"), "\"\\ufffd\\ufffd\"");             // truncated
  EXPECT_EQ(go_json_quote("\x7f"), "\"\x7f\"");
}

}  // namespace
}  // namespace kc::test
