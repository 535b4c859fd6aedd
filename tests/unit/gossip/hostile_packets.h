// Datagrams from hostile-input reports, byte for byte, shared by the unit, simulator and
// real-agent tests.
#pragma once

#include <string>

namespace kc::test {

// The 37-byte ping whose 3-byte SourceAddr used to stop the agent (exit 134):
//   printf '\x00\x83\xa5SeqNo\x01\xaaSourceAddr\xc4\x03\x7f\x00\x01\xaaSourcePort\x01'
inline const std::string kThreeByteSourcePing(
    "\x00\x83\xa5SeqNo\x01\xaaSourceAddr\xc4\x03\x7f\x00\x01\xaaSourcePort\x01", 37);

}  // namespace kc::test
