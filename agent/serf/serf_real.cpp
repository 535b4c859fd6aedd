// Serf on a real memberlist. Kept apart from serf.cpp so that unit tests, which give Serf a
// scripted memberlist, do not link the gossip core's network code.
#include "agent/serf/serf.h"

namespace kc::serf {

Serf::Serf(Config config, gossip::Scheduler& scheduler, gossip::Transport& transport,
           std::shared_ptr<gossip::Keyring> keyring)
    : Serf(std::move(config), scheduler,
           real_memberlist(scheduler, transport, std::move(keyring))) {}

}  // namespace kc::serf
