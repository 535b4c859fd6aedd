// libFuzzer target for the TCP stream path: message framing (stream_message_length), unwrapping
// (decrypt/decompress) and a member's handling of the request (push/pull merge, ping, user).
#include <cstdint>
#include <memory>

#include "agent/gossip/envelope.h"
#include "agent/gossip/memberlist.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

using namespace kc::gossip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kc::log::set_level("err");
  Bytes input(data, data + size);
  try {
    (void)stream_message_length(input);
  } catch (const kc::mp::DecodeError&) {
  }
  sim::SimClock clock;
  sim::SimNetwork net(clock, 1);
  auto self = net.bind(Address{{10, 0, 0, 1}, 7946});
  auto peer = net.bind(Address{{10, 0, 0, 2}, 7946});
  Config c = Config::lan();
  c.name = "fuzzed";
  c.advertise = self->local_address();
  c.seed = 7;
  Memberlist list(c, clock, *self, Delegates{});
  list.start();
  peer->stream_request(self->local_address(), input, true, std::chrono::seconds(1),
                       [](std::optional<Bytes>, std::string) {});
  clock.run_for(std::chrono::seconds(2));
  return 0;
}
