#include "common/proc_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

using kc::proc_file::fields;
using kc::proc_file::read;
using kc::proc_file::to_u64;

TEST(ProcFile, ReadsAProcFileWhole) {
  auto stat = read("/proc/self/stat");
  ASSERT_TRUE(stat);
  // Field 1 is our pid, whatever the command name in field 2 holds.
  EXPECT_EQ(to_u64(fields(*stat).at(0)), uint64_t(getpid()));
  auto big = read("/proc/self/maps");  // usually more than one read(2) buffer
  ASSERT_TRUE(big);
  EXPECT_NE(big->find("[stack]"), std::string::npos);
  EXPECT_FALSE(read("/proc/self/no-such-file"));
}

TEST(ProcFile, FieldsSplitOnAnyWhitespace) {
  auto f = fields("  a b\t\tc\nd  ");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[3], "d");
  EXPECT_TRUE(fields("").empty());
  EXPECT_TRUE(fields(" \n").empty());
}

TEST(ProcFile, ToU64TakesOnlyAWholeNumber) {
  EXPECT_EQ(to_u64("0"), 0u);
  EXPECT_EQ(to_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(to_u64("18446744073709551616"));  // overflow
  EXPECT_FALSE(to_u64(""));
  EXPECT_FALSE(to_u64("12x"));
  EXPECT_FALSE(to_u64("-1"));
  EXPECT_FALSE(to_u64(" 1"));
}
