// libFuzzer target for the UDP receive path: arbitrary datagrams into a live memberlist on the
// simulated network (decrypt/CRC/compress/compound/every message type and state change).
// Nothing may crash or hang; bad input is a counted drop.
#include <cstdint>
#include <memory>

#include "agent/gossip/memberlist.h"
#include "agent/gossip/sim/sim_runtime.h"
#include "common/logging.h"

using namespace kc::gossip;

namespace {

struct World {
  sim::SimClock clock;
  sim::SimNetwork net{clock, 1};
  std::unique_ptr<Transport> self = net.bind(Address{{10, 0, 0, 1}, 7946});
  std::unique_ptr<Transport> peer = net.bind(Address{{10, 0, 0, 2}, 7946});
  std::unique_ptr<Memberlist> list;
  World() {
    kc::log::set_level("err");
    Config c = Config::lan();
    c.name = "fuzzed";
    c.advertise = self->local_address();
    c.seed = 7;
    list = std::make_unique<Memberlist>(c, clock, *self, Delegates{});
    list->start();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fresh member per input keeps runs independent (and replayable from one file).
  World w;
  w.peer->send_packet(w.self->local_address(), Bytes(data, data + size));
  w.clock.run_for(std::chrono::seconds(2));
  return 0;
}
