// The agent pods as the controller sees them through the pods and Nodes informers: which pods
// are trusted agents (owned by the agent DaemonSet, whose uid is read here), which of those are
// live (Running and Ready on a Ready Node) and so asked about membership, and which pod a
// member belongs to. Nodes' NotReady time is measured here, on this process's clock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.h"
#include "kube/resources.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/mapping.h"
#include "operator/controller/trust.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

class AgentPods {
 public:
  using Clock = std::chrono::steady_clock;
  // `pods` is the cache of the pods matching the agents' selector; `rpc_port` the agents' RPC
  // port when a pod names none; `resync` how often the DaemonSet's uid is read again.
  AgentPods(boost::asio::io_context& io, KubeApi& kube, const ObjectCache& pods,
            AgentIdentity agents, int rpc_port, std::chrono::milliseconds resync);

  // Reads the DaemonSet (unless every pod of the selector is trusted), then keeps it fresh.
  void start();
  // Whether pods can be judged yet: false until the DaemonSet's uid is known.
  bool trusting() const { return agents_.trust_selector || !agents_.daemonset_uid.empty(); }
  bool verified(const kube::PodView& pod) const { return verified_agent(pod, agents_); }
  // Logs once a pod that looks like an agent but is not the DaemonSet's; forget() it when it
  // is deleted.
  void note_untrusted(const kube::PodView& pod);
  void forget_untrusted(const std::string& uid) { untrusted_seen_.erase(uid); }

  // A Node event: starts or ends its NotReady time.
  void on_node(kube::EventType type, const nlohmann::json& obj);
  bool node_ready(const std::string& node) const;
  // How long `node` has been NotReady, nullopt when it is Ready (or unknown).
  std::optional<Clock::duration> not_ready_for(const std::string& node) const;

  // Verified agent pods that are Running and Ready on Ready Nodes: the only ones asked about
  // membership or sent the RPC token.
  std::vector<kube::PodView> live() const;
  // The live agents' RPC addresses ("ip:port"), but the pod `except_uid`'s.
  std::vector<std::string> rpc_addrs(const std::string& except_uid = "") const;
  // The HTTP API address of the verified agent pod whose RPC address is `rpc_addr`.
  std::optional<std::string> http_addr(const std::string& rpc_addr) const;
  // The cached pod `m` belongs to (by tags), if any.
  std::optional<kube::PodView> pod_of(const Member& m) const;
  // Whether `m` must never be pruned: its pod is live, or it gossips from a live agent pod's
  // address (whatever its tags claim). `members` is the membership `m` comes from.
  bool protects(const Member& m, const std::map<std::string, Member>& members) const;

 private:
  void refresh_daemonset();

  KubeApi& kube_;
  const ObjectCache& pods_;
  AgentIdentity agents_;  // with the DaemonSet's uid once known
  int rpc_port_;
  std::chrono::milliseconds resync_;
  std::shared_ptr<spdlog::logger> log_;
  std::set<std::string> untrusted_seen_;                      // uids of look-alikes reported
  std::map<std::string, Clock::time_point> not_ready_since_;  // node -> first seen NotReady
  boost::asio::steady_timer daemonset_timer_;
  LifetimeToken lifetime_;
};

// "ip:port" of an agent pod's port (IPv6 in brackets).
std::string agent_addr(const std::string& ip, int port);

}  // namespace kc::controller
