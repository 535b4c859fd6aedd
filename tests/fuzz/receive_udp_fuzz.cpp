// libFuzzer target: sequences of datagrams into a live Serf + memberlist on the simulator,
// plain and encrypted (see receive_world.h for the input format and what counts as a finding).
#include "fuzz/receive_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kc::fuzz::run_receive_sequence(kc::fuzz::Channel::Datagram, data, size);
  return 0;
}
