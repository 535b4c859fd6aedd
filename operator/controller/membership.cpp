#include "operator/controller/membership.h"

#include "common/logging.h"
#include "operator/controller/incarnations.h"

namespace kc::controller {

namespace {
// After a prune, agents that have not heard of it yet may still list the member for a moment;
// it is kept out of the membership view meanwhile so its ClusterNode is not re-created.
constexpr auto kPrunedMemory = std::chrono::seconds(30);
}  // namespace

Membership::Membership(boost::asio::io_context& io, AgentApi& rpc, const AgentPods& pods,
                       Metrics& metrics, ClusterScope scope, std::chrono::milliseconds poll,
                       Callbacks callbacks)
    : io_(io),
      rpc_(rpc),
      pods_(pods),
      metrics_(metrics),
      scope_(std::move(scope)),
      every_(poll),
      callbacks_(std::move(callbacks)),
      log_(kc::log::get("controller")),
      timer_(io) {}

void Membership::start() {
  active_ = true;
  fresh_ = false;
  poll();
}

void Membership::stop() {
  active_ = false;
  timer_.cancel();
}

const Member* Membership::find(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

void Membership::pruned(const std::string& name) {
  pruned_[name] = Clock::now();
  members_.erase(name);
}

void Membership::poll() {
  if (!active_) return;
  timer_.expires_after(every_);
  timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec) poll();
  }));
  if (in_flight_) return;
  auto agents = pods_.rpc_addrs();
  if (agents.empty()) return;
  in_flight_ = true;
  poll_agent(std::make_shared<std::vector<std::string>>(std::move(agents)), 0);
}

void Membership::poll_agent(const std::shared_ptr<std::vector<std::string>>& agents, size_t tried) {
  if (tried >= agents->size()) {
    in_flight_ = false;
    return;
  }
  auto addr = (*agents)[rotor_++ % agents->size()];
  rpc_.members(addr,
               lifetime_.wrap([this, addr, agents, tried](std::optional<std::vector<Member>> ms,
                                                          const std::string& error) {
                 if (!ms) {
                   log_->debug("members from {} failed: {}", addr, error);
                   poll_agent(agents, tried + 1);
                   return;
                 }
                 in_flight_ = false;
                 source_ = addr;
                 update(std::move(*ms));
                 refresh_incarnations(addr);
               }));
}

void Membership::read_now(const std::string& addr, std::function<void()> then) {
  rpc_.members(addr, lifetime_.wrap([this, addr, then = std::move(then)](
                                        std::optional<std::vector<Member>> ms, const std::string&) {
    if (ms) {
      source_ = addr;
      update(std::move(*ms));
    }
    then();
  }));
}

void Membership::update(std::vector<Member> members) {
  auto now = Clock::now();
  std::erase_if(pruned_, [&](const auto& p) { return now - p.second > kPrunedMemory; });
  members_.clear();
  foreign_names_.clear();
  std::map<std::string, int> by_status;
  for (auto& m : members) {
    if (pruned_.contains(m.name)) continue;
    ++by_status[m.status];
    if (!own_member(m, scope_)) {
      // Another Kubernetes cluster's: its operator prunes and mirrors it; its row stays.
      foreign_names_.insert(m.name);
      continue;
    }
    // Kept between polls, so the ClusterNode status does not lose it while a fetch runs.
    if (auto it = incarnations_.find(m.name); it != incarnations_.end()) m.incarnation = it->second;
    members_[m.name] = std::move(m);
  }
  fresh_ = true;
  metrics_.set_members(by_status);
  metrics_.set_foreign_members(foreign_names_.size());
  if (callbacks_.polled) callbacks_.polled();
}

void Membership::refresh_incarnations(const std::string& rpc_addr) {
  if (incarnations_in_flight_) return;
  auto http_addr = pods_.http_addr(rpc_addr);
  if (!http_addr) return;
  incarnations_in_flight_ = true;
  fetch_incarnations(io_, *http_addr, rpc_.auth_key(),
                     lifetime_.wrap([this](std::optional<std::map<std::string, uint64_t>> got) {
                       incarnations_in_flight_ = false;
                       if (!got) return;
                       incarnations_ = std::move(*got);
                       for (auto& [name, m] : members_)
                         if (auto it = incarnations_.find(name); it != incarnations_.end())
                           m.incarnation = it->second;
                       if (callbacks_.incarnations) callbacks_.incarnations();
                     }));
}

}  // namespace kc::controller
