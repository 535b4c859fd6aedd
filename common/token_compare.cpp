#include "common/token_compare.h"

namespace kc {

bool same_token(const std::string& presented, const std::string& expected) {
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i)
    diff |= static_cast<unsigned char>(presented[i] ^
                                       (expected.empty() ? 0 : expected[i % expected.size()]));
  return diff == 0;
}

}  // namespace kc
