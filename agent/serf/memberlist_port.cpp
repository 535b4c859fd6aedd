#include "agent/serf/memberlist_port.h"

namespace kc::serf {

namespace {

class RealPort : public MemberlistPort {
 public:
  RealPort(const gossip::Config& config, gossip::Scheduler& sched, gossip::Transport& transport,
           gossip::Delegates delegates, std::shared_ptr<gossip::Keyring> keyring)
      : ml_(config, sched, transport, delegates, std::move(keyring)) {}

  void start() override { ml_.start(); }
  void join(const std::vector<std::string>& addresses,
            std::function<void(int, std::string)> done) override {
    ml_.join(addresses, std::move(done));
  }
  void leave(gossip::Duration timeout, std::function<void(bool)> done) override {
    ml_.leave(timeout, std::move(done));
  }
  void shutdown() override { ml_.shutdown(); }
  void update_node() override { ml_.update_node(); }
  bool declare_dead(const std::string& name) override { return ml_.declare_dead(name); }
  void send_user_packet(const gossip::Address& to, std::span<const uint8_t> msg) override {
    ml_.send_user_packet(to, msg);
  }
  gossip::Node local_node() const override { return ml_.local_node(); }
  size_t num_alive() const override { return ml_.num_alive(); }
  int health_score() const override { return ml_.health_score(); }
  std::shared_ptr<gossip::Keyring> keyring() const override { return ml_.keyring(); }
  gossip::Memberlist* memberlist() override { return &ml_; }

 private:
  gossip::Memberlist ml_;
};

}  // namespace

MemberlistFactory real_memberlist(gossip::Scheduler& scheduler, gossip::Transport& transport,
                                  std::shared_ptr<gossip::Keyring> keyring) {
  return [&scheduler, &transport, keyring = std::move(keyring)](const gossip::Config& config,
                                                                gossip::Delegates delegates) {
    return std::make_unique<RealPort>(config, scheduler, transport, delegates, keyring);
  };
}

}  // namespace kc::serf
