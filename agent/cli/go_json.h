// JSON text as Go's encoding/json writes it, for output that must match serf byte for byte:
// strings escape <, > and & as \u003c, \u003e, \u0026, U+2028/U+2029 as \u2028/\u2029,
// control characters other than \n, \r and \t as \u00XX (\b and \f included), and each
// byte of invalid UTF-8 as \ufffd.
#pragma once

#include <string>
#include <string_view>

namespace kc::cli {

// The quoted JSON string.
std::string go_json_quote(std::string_view s);

}  // namespace kc::cli
