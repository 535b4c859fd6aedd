// The force-leave request's "Gone" field: sent only when set, so a plain force-leave is byte
// for byte what the serf CLI sends; decoded when present, refused when mistyped.
#include <gtest/gtest.h>

#include "serf_client/protocol.h"
#include "support/vectors.h"

namespace kc::test {
namespace {

namespace proto = kc::serf_client::proto;
using kc::serf_client::Bytes;

Bytes encode(const proto::ForceLeaveRequest& r) {
  Bytes b;
  mp::Writer w(b, mp::Dialect::Rpc);
  proto::write(w, r);
  return b;
}

TEST(ForceLeaveGone, PlainForceLeaveIsSerfsTwoFieldMap) {
  // {"Node": "n1", "Prune": true}
  EXPECT_EQ(to_hex(encode({"n1", true, false})), "82a44e6f6465a26e31a55072756e65c3");
  auto back = proto::read_force_leave(mp::Document::parse(encode({"n1", true, false})).root());
  EXPECT_EQ(back.node, "n1");
  EXPECT_TRUE(back.prune);
  EXPECT_FALSE(back.gone);
}

TEST(ForceLeaveGone, GoneRoundTrips) {
  auto bytes = encode({"n1", true, true});
  EXPECT_EQ(to_hex(bytes), "83a44e6f6465a26e31a55072756e65c3a4476f6e65c3");
  auto back = proto::read_force_leave(mp::Document::parse(bytes).root());
  EXPECT_EQ(back.node, "n1");
  EXPECT_TRUE(back.prune);
  EXPECT_TRUE(back.gone);
}

TEST(ForceLeaveGone, MistypedGoneIsADecodeError) {
  // {"Node": "n1", "Gone": "yes"}
  auto bytes = from_hex("82a44e6f6465a26e31a4476f6e65a3796573");
  EXPECT_THROW(proto::read_force_leave(mp::Document::parse(bytes).root()), std::exception);
}

}  // namespace
}  // namespace kc::test
