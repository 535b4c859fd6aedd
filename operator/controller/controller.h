// The controller: keeps the gossip membership, the `nodes` table and the ClusterNode
// objects in step with the agent pods.
//
// - Pods (label selector), Nodes and ClusterNodes come from informers; their caches are the
//   only view of Kubernetes read here. Membership comes from healthy agents' RPC (a Running,
//   Ready pod's IP and its `rpc` container port or --agent-rpc-port), polled every second.
// - A pod DELETED event, a pod gone Failed, or a pod on a Node NotReady for longer than
//   failed_grace while its member is failed: the member is force-left with prune through
//   every healthy agent, its `nodes` row and its ClusterNode are deleted and an Event is
//   recorded. Each step is retried until it succeeds (Postgres down: the row is deleted when
//   it returns) and is idempotent, so a crash at any point and a restart converge.
// - A member whose pod is Running and Ready (on a Ready node) is never pruned. A member with
//   no pod in the cache is pruned only after a fresh GET confirms the pod is gone.
// - ClusterNodes mirror the members; their incarnation comes from the polled agent's HTTP
//   API (/v1/members), as Serf's RPC does not carry it.
// - Every `resync`: rows without members, members without pods, ClusterNodes without members.
// Only the leader acts; standbys keep their caches warm so that a takeover starts at once,
// with a full reconcile that catches what happened while nobody led.
//
// In the shape of controller-runtime, this class only wires the parts and turns events into
// work: AgentPods (which pods are live agents), Membership (the polled member list),
// PruneGate and PruneReconciler (whether and how a member is pruned), ClusterNodeReconciler
// and NodesReconciler (ClusterNodes and `nodes` rows, each a WorkQueue keyed by name), and
// OrphanCheck (the fresh read before an orphan is pruned).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/lifetime.h"
#include "kube/resources.h"
#include "operator/controller/agent_api.h"
#include "operator/controller/cluster_scope.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/mapping.h"
#include "operator/controller/metrics.h"
#include "operator/controller/nodes_store.h"
#include "operator/controller/trust.h"
#include "operator/controller/work_queue.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

class AgentPods;
class ClusterNodeMirror;
class ClusterNodeReconciler;
class Membership;
class NodesReconciler;
class OrphanCheck;
class PruneGate;
class PruneReconciler;

struct ControllerOptions {
  std::string ns;                      // agent pods' namespace; empty = all namespaces
  std::string selector;                // agent pods' label selector
  std::string default_ns = "default";  // ClusterNodes of members without a namespace tag
  int agent_rpc_port = 7373;
  std::chrono::milliseconds failed_grace{60000};
  std::chrono::milliseconds resync{60000};
  std::chrono::milliseconds member_poll{1000};
  std::string identity;  // for Events' source.host
  // The agent DaemonSet whose pods alone are trusted (daemonset_uid is looked up here).
  AgentIdentity agents;
  // The members this operator acts on (its own Kubernetes cluster's).
  ClusterScope scope;
  // Backoff of reconciles that failed (Postgres down, API errors), per key.
  WorkQueueOptions retry{std::chrono::milliseconds(250), std::chrono::milliseconds(10000)};
};

class Controller {
 public:
  // `rows` may be null: no datastore, rows are neither deleted nor reconciled.
  Controller(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc, NodesStore* rows,
             Metrics& metrics, ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void start();               // informers (always)
  void set_leading(bool on);  // acting on or off
  bool synced() const;

 private:
  using Clock = std::chrono::steady_clock;

  void on_pod(kube::EventType type, const nlohmann::json& obj);
  void handle_pod_gone(const kube::PodView& pod, PruneReason reason);
  void remember_missed(const kube::PodView& pod);
  void on_members();
  void check_rules();
  void prune(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
             Clock::time_point seen);
  void reconcile();
  void schedule_reconcile();

  Metrics& metrics_;
  ControllerOptions options_;
  std::shared_ptr<spdlog::logger> log_;

  std::unique_ptr<ObjectCache> pods_, nodes_, cnodes_;
  std::unique_ptr<AgentPods> agents_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<ClusterNodeMirror> mirror_;
  std::unique_ptr<PruneReconciler> prunes_;
  std::unique_ptr<PruneGate> gate_;
  std::unique_ptr<ClusterNodeReconciler> clusternodes_;
  std::unique_ptr<NodesReconciler> rows_;  // null without a datastore
  std::unique_ptr<OrphanCheck> orphans_;
  bool leading_ = false;
  std::set<std::string> done_pods_;  // pod uids already handled
  // Pods deleted while we were standing by, handled as deletions when we take over.
  std::vector<std::pair<kube::PodView, Clock::time_point>> missed_;
  bool reconcile_pending_ = false;
  boost::asio::steady_timer resync_timer_;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
