// Whether a member may be pruned, before PruneReconciler does it:
// - never a member that is a Running and Ready agent pod's (by its tags, or because it gossips
//   from a live agent pod's address, whatever its tags claim);
// - never on one agent's word when a second live agent can be asked: that one must not
//   contradict it (same address, same pod tags; for a NodeNotReady prune, failed there too).
//   A member the second agent no longer lists is no contradiction. When no other agent
//   answers, nothing is done now: the periodic rules come back to it.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.h"
#include "operator/controller/agent_api.h"
#include "operator/controller/agent_pods.h"
#include "operator/controller/membership.h"
#include "operator/controller/metrics.h"
#include "operator/controller/prune_reconciler.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

class PruneGate {
 public:
  PruneGate(AgentApi& rpc, const AgentPods& pods, const Membership& membership,
            PruneReconciler& prunes, Metrics& metrics);

  // Hands `r` to the reconciler once the rules above allow it; refusals are counted
  // (Metrics::prune_refused) and logged.
  void request(PruneRequest r);

 private:
  void ask_second(const std::shared_ptr<const PruneRequest>& r,
                  const std::shared_ptr<std::vector<std::string>>& others, size_t next);
  bool refuse_live(const Member& m);

  AgentApi& rpc_;
  const AgentPods& pods_;
  const Membership& membership_;
  PruneReconciler& prunes_;
  Metrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;
  std::set<std::string> corroborating_;  // member names whose prune awaits a second view
  size_t rotor_ = 0;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
