// Comparing a presented secret (RPC `auth`, HTTP bearer token) with the configured one.
#pragma once

#include <string>

namespace kc {

// Equal strings; takes as long for a token wrong in its first byte as for one wrong in its
// last, so response timing does not reveal a matching prefix.
bool same_token(const std::string& presented, const std::string& expected);

}  // namespace kc
