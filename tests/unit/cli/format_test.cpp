// Output formats: Kong's member lines and /cluster JSON, serf's JSON and columns.
#include "agent/cli/format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/rpc/fake_agent.h"

namespace kc::test {
namespace {

using namespace kc::cli;

std::vector<MemberInfo> two() {
  auto a = make_member("3f86eadb04c9_0.0.0.0:7946_b1dae503e0f34f9c9bf9be0a5023461d",
                       {172, 30, 0, 4}, 7946, {{"role", "kong"}, {"dc", "one"}});
  auto b = make_member("b", {10, 0, 0, 2}, 7947, {}, "failed");
  return {a, b};
}

TEST(Format, KongMemberLines) {
  EXPECT_EQ(members_text(two(), false),
            "3f86eadb04c9_0.0.0.0:7946_b1dae503e0f34f9c9bf9be0a5023461d\t172.30.0.4:7946\talive\n"
            "b\t10.0.0.2:7947\tfailed\n");
  EXPECT_EQ(members_text(two(), true),
            "3f86eadb04c9_0.0.0.0:7946_b1dae503e0f34f9c9bf9be0a5023461d\t172.30.0.4:7946\talive\t"
            "dc=one,role=kong\tprotocol 5 [2,5]\n"
            "b\t10.0.0.2:7947\tfailed\t\tprotocol 5 [2,5]\n");
  EXPECT_EQ(members_text({}, false), "");
}

TEST(Format, SerfMemberColumns) {
  EXPECT_EQ(members_serf_text(two(), false),
            "3f86eadb04c9_0.0.0.0:7946_b1dae503e0f34f9c9bf9be0a5023461d  172.30.0.4:7946  alive   "
            "dc=one,role=kong\n"
            "b" +
                std::string(59, ' ') + "10.0.0.2:7947    failed\n");
  EXPECT_EQ(members_serf_text({two()[1]}, true),
            "b  10.0.0.2:7947  failed    Protocol Version: 5  Available Protocol Range: [2, 5]\n");
  EXPECT_EQ(members_serf_text({}, false), "\n");
}

TEST(Format, SerfJsonEscapesAsGo) {
  auto m = make_member("a\tb\n<c>", {10, 0, 0, 1}, 7946, {{"k", "&"}});
  auto out = members_serf_json({m});
  EXPECT_NE(out.find("\"name\": \"a\\tb\\n\\u003cc\\u003e\","), std::string::npos) << out;
  EXPECT_NE(out.find("\"k\": \"\\u0026\""), std::string::npos) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["members"][0]["name"], "a\tb\n<c>");
}

TEST(Format, KongClusterJson) {
  // The documented GET /cluster example shape.
  EXPECT_EQ(members_kong_json(two()),
            "{\"data\":[{\"address\":\"172.30.0.4:7946\",\"name\":\"3f86eadb04c9_0.0.0.0:7946_"
            "b1dae503e0f34f9c9bf9be0a5023461d\",\"status\":\"alive\"},{\"address\":\"10.0.0.2:"
            "7947\",\"name\":\"b\",\"status\":\"failed\"}],\"total\":2}\n");
  EXPECT_EQ(members_kong_json({}), "{\"data\":[],\"total\":0}\n");
}

TEST(Format, SerfJsonLayout) {
  auto m = two();
  m.resize(1);
  EXPECT_EQ(members_serf_json(m),
            "{\n"
            "  \"members\": [\n"
            "    {\n"
            "      \"name\": \"3f86eadb04c9_0.0.0.0:7946_b1dae503e0f34f9c9bf9be0a5023461d\",\n"
            "      \"addr\": \"172.30.0.4:7946\",\n"
            "      \"port\": 7946,\n"
            "      \"tags\": {\n"
            "        \"dc\": \"one\",\n"
            "        \"role\": \"kong\"\n"
            "      },\n"
            "      \"status\": \"alive\",\n"
            "      \"protocol\": {\n"
            "        \"max\": 5,\n"
            "        \"min\": 2,\n"
            "        \"version\": 5\n"
            "      }\n"
            "    }\n"
            "  ]\n"
            "}\n");
  EXPECT_EQ(members_serf_json({}), "{\n  \"members\": null\n}\n");
}

TEST(Format, InvalidUtf8DoesNotThrow) {
  auto m = make_member(std::string("bad\xff", 4), {1, 2, 3, 4}, 1);
  EXPECT_NO_THROW(members_kong_json({m}));
  EXPECT_NO_THROW(members_serf_json({m}));
}

TEST(Format, StatsText) {
  kc::serf_client::proto::Stats s = {{"serf", {{"members", "1"}, {"failed", "0"}}},
                                     {"agent", {{"name", "r"}}},
                                     {"event_handlers", {}}};
  EXPECT_EQ(stats_text(s),
            "agent:\n\tname = r\nevent_handlers:\nserf:\n\tfailed = 0\n\tmembers = 1\n");
  EXPECT_EQ(nlohmann::json::parse(stats_json(s))["serf"]["members"], "1");
}

TEST(Format, Columnize) {
  EXPECT_EQ(columnize({"a | bb | c", "ccc | d | e"}), "a    bb  c\nccc  d   e");
  EXPECT_EQ(columnize({"failed: | node-1 | No keyring"}), "failed:  node-1  No keyring");
  EXPECT_EQ(columnize({"k\xc3\xa9y | [1/2]", "ab | [2/2]"}), "k\xc3\xa9y  [1/2]\nab   [2/2]");
  EXPECT_EQ(columnize({}), "");
}

TEST(Format, Tags) {
  std::string err;
  auto t = parse_tags({"a=1", "b=x=y", "c="}, err);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (Tags{{"a", "1"}, {"b", "x=y"}, {"c", ""}}));
  EXPECT_FALSE(parse_tags({"=v"}, err));
  EXPECT_EQ(err, "Invalid tag: '=v'");
  EXPECT_FALSE(parse_tags({"novalue"}, err));
}

TEST(Format, Base64) {
  auto enc = [](std::string s) {
    return base64_encode(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  EXPECT_EQ(enc("\xff\xfe\xfd"), "//79");
}

TEST(Format, GoValues) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  w.map(3).key("Name").str("deploy").key("Payload").bytes(Bytes{0x70, 0x71}).key("LTime").uint(7);
  auto doc = mp::Document::parse(b);
  EXPECT_EQ(go_value(doc.root().get("Name")), "\"deploy\"");
  EXPECT_EQ(go_value(doc.root().get("Payload")), "[]byte{0x70, 0x71}");
  EXPECT_EQ(go_value(doc.root().get("LTime")), "7");
  EXPECT_EQ(go_value(doc.root().get("Missing")), "<nil>");
}

}  // namespace
}  // namespace kc::test
