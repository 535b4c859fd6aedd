// libFuzzer target: sequences of TCP streams (push/pull, ping, user) into a live Serf +
// memberlist on the simulator, plain and encrypted (see receive_world.h).
#include "fuzz/receive_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kc::fuzz::run_receive_sequence(kc::fuzz::Channel::Stream, data, size);
  return 0;
}
