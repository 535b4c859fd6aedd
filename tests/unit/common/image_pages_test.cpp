#include "common/image_pages.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using kc::image_pages::Range;

// A constant in the read-only image, a variable in a writable segment (data), one written at
// run time before the release: the release must keep all three as they are.
const char kConstant[] = "a constant the release maps back from the file";
char written_data[4096] = "initial";

struct Mapping {
  uintptr_t begin, end;
  std::string perms;
};

std::vector<Mapping> own_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::vector<Mapping> out;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string span;
    std::string perms;
    in >> span >> perms;
    auto dash = span.find('-');
    out.push_back({std::stoul(span.substr(0, dash), nullptr, 16),
                   std::stoul(span.substr(dash + 1), nullptr, 16), perms});
  }
  return out;
}

const Mapping* mapping_of(const std::vector<Mapping>& maps, uintptr_t addr) {
  for (const auto& m : maps)
    if (addr >= m.begin && addr < m.end) return &m;
  return nullptr;
}

__attribute__((noinline)) int code_in_the_image(int x) {
  return x * 3 + 1;
}

TEST(ImagePages, RangesAreTheReadOnlyMappingsOfTheExecutable) {
  auto ranges = kc::image_pages::read_only_ranges();
  ASSERT_FALSE(ranges.empty());
  auto maps = own_mappings();
  bool code = false;
  bool constant = false;
  for (const Range& r : ranges) {
    ASSERT_LT(r.begin, r.end);
    // Every page of a range lies in a mapping that is neither writable nor shared.
    for (uintptr_t p = r.begin; p < r.end; p += 4096) {
      const Mapping* m = mapping_of(maps, p);
      ASSERT_NE(m, nullptr) << std::hex << p;
      EXPECT_EQ(m->perms[1], '-') << "writable: " << std::hex << p;
      EXPECT_EQ(m->perms[3], 'p') << "shared: " << std::hex << p;
    }
    auto fn = reinterpret_cast<uintptr_t>(&code_in_the_image);
    auto text = reinterpret_cast<uintptr_t>(kConstant);
    code |= fn >= r.begin && fn < r.end;
    constant |= text >= r.begin && text < r.end;
  }
  EXPECT_TRUE(code) << "this test's own code is not in a read-only range";
  EXPECT_TRUE(constant) << "a string constant is not in a read-only range";
  auto data = reinterpret_cast<uintptr_t>(written_data);
  for (const Range& r : ranges) EXPECT_FALSE(data >= r.begin && data < r.end);
}

TEST(ImagePages, ReleaseKeepsCodeConstantsAndWrittenData) {
  std::strcpy(written_data, "written before the release");
  int before = code_in_the_image(13);
  auto r = kc::image_pages::release_read_only();
  ASSERT_EQ(r.error, "");
  EXPECT_GT(r.mapped_bytes, 0u);
  EXPECT_GT(r.resident_bytes, 0u) << "nothing resident was released";
  EXPECT_EQ(code_in_the_image(13), before);
  EXPECT_STREQ(kConstant, "a constant the release maps back from the file");
  EXPECT_STREQ(written_data, "written before the release");
  // Twice in a row is as safe; the second finds less resident.
  auto again = kc::image_pages::release_read_only();
  EXPECT_EQ(again.error, "");
  EXPECT_EQ(code_in_the_image(13), before);
}

TEST(ImagePages, ResidentBytesReadsStatm) {
  EXPECT_GT(kc::image_pages::resident_bytes(), 0u);
}

}  // namespace

namespace {

TEST(ImagePages, FreeHeapInTheMiddleGoesBack) {
  // 64 KiB blocks (under malloc's mmap threshold: from the heap), every other one freed: the
  // holes sit between blocks in use, where only malloc_trim returns them.
  constexpr size_t kBlock = size_t(64) << 10;
  std::vector<char*> blocks;
  for (int i = 0; i < 256; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    std::memset(blocks.back(), i, kBlock);
  }
  for (size_t i = 0; i < blocks.size(); i += 2) {
    std::free(blocks[i]);
    blocks[i] = nullptr;
  }
  size_t released = kc::image_pages::release_free_heap();
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator, not glibc's, holds these blocks: nothing to measure.
  (void)released;
#else
  EXPECT_GE(released, size_t(4) << 20) << "of 8 MiB freed in holes";
#endif
  for (size_t i = 1; i < blocks.size(); i += 2) {
    EXPECT_EQ(blocks[i][0], char(i));
    EXPECT_EQ(blocks[i][kBlock - 1], char(i));
    std::free(blocks[i]);
  }
}

}  // namespace
