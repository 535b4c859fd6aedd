// Addresses as Go prints and reads them.
#include "common/address.h"

#include <gtest/gtest.h>

namespace kc {
namespace {

TEST(FormatAddr, PrintsAsGoDoes) {
  EXPECT_EQ(format_addr({127, 0, 0, 1}, 7946), "127.0.0.1:7946");
  EXPECT_EQ(format_addr({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}, 1), "10.1.2.3:1");
  EXPECT_EQ(format_addr({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 7946),
            "[fe80::1]:7946");
  EXPECT_EQ(format_addr({}, 7946), ":7946");
}

}  // namespace
}  // namespace kc
