#include "operator/controller/prune_gate.h"

#include <algorithm>

#include "common/logging.h"
#include "operator/controller/trust.h"

namespace kc::controller {

PruneGate::PruneGate(AgentApi& rpc, const AgentPods& pods, const Membership& membership,
                     PruneReconciler& prunes, Metrics& metrics)
    : rpc_(rpc),
      pods_(pods),
      membership_(membership),
      prunes_(prunes),
      metrics_(metrics),
      log_(kc::log::get("controller")) {}

bool PruneGate::refuse_live(const Member& m) {
  if (!pods_.protects(m, membership_.members())) return false;
  log_->warn("not pruning {} ({}): it is a Running and Ready agent pod's member", m.name,
             m.address);
  metrics_.prune_refused("live_pod");
  return true;
}

void PruneGate::request(PruneRequest r) {
  const auto& m = r.member;
  if (!prunes_.active() || prunes_.has(m.name) || corroborating_.contains(m.name)) return;
  if (refuse_live(m)) return;
  auto others = std::make_shared<std::vector<std::string>>();
  for (auto& addr : pods_.rpc_addrs(r.pod ? r.pod->uid : ""))
    if (addr != membership_.source()) others->push_back(addr);
  if (others->empty()) return prunes_.add(std::move(r));
  std::rotate(others->begin(), others->begin() + static_cast<long>(rotor_++ % others->size()),
              others->end());
  corroborating_.insert(m.name);
  ask_second(std::make_shared<const PruneRequest>(std::move(r)), others, 0);
}

void PruneGate::ask_second(const std::shared_ptr<const PruneRequest>& r,
                           const std::shared_ptr<std::vector<std::string>>& others, size_t next) {
  const auto& m = r->member;
  if (next >= others->size()) {
    corroborating_.erase(m.name);
    log_->warn("not pruning {} ({}) now: no second agent answered to confirm it", m.name,
               to_string(r->reason));
    metrics_.prune_refused("unconfirmed");
    return;
  }
  auto second = (*others)[next];
  rpc_.members(
      second, lifetime_.wrap([this, r, others, next, second](std::optional<std::vector<Member>> ms,
                                                             const std::string& error) {
        const auto& m = r->member;
        if (!ms) {
          log_->debug("{} did not answer for a second view of {}: {}", second, m.name, error);
          return ask_second(r, others, next + 1);
        }
        corroborating_.erase(m.name);
        if (!prunes_.active() || prunes_.has(m.name)) return;
        auto theirs =
            std::find_if(ms->begin(), ms->end(), [&](const Member& x) { return x.name == m.name; });
        bool contradicted =
            theirs != ms->end() &&
            (!reports_agree(m, *theirs) ||
             (r->reason == PruneReason::NodeNotReady && theirs->status != "failed"));
        if (contradicted) {
          log_->warn("not pruning {} ({}): {} reports it as {} {} where {} said {} {}", m.name,
                     to_string(r->reason), second, theirs->status, theirs->address,
                     membership_.source(), m.status, m.address);
          metrics_.prune_refused("disagreement");
          return;
        }
        if (pods_.protects(m, membership_.members())) {
          metrics_.prune_refused("live_pod");
          return;
        }
        prunes_.add(*r);
      }));
}

}  // namespace kc::controller
