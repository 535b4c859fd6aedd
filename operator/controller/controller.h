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
#include "operator/controller/agent_api.h"
#include "operator/controller/cluster_scope.h"
#include "operator/controller/clusternode_mirror.h"
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
  // Backoff of prune steps that failed (Postgres down, API errors), per member.
  WorkQueueOptions retry{std::chrono::milliseconds(250), std::chrono::milliseconds(10000)};
};

class Controller {
 public:
  // `rows` may be null: no datastore, rows are neither deleted nor reconciled.
  Controller(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc, NodesStore* rows,
             Metrics& metrics, ControllerOptions options);
  ~Controller();

  void start();               // informers (always)
  void set_leading(bool on);  // acting on or off
  bool synced() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct PruneJob {
    Member member;
    PruneReason reason;
    Clock::time_point seen;
    std::optional<kube::PodView> pod;
    // left: force-left on the agents; gone: then absent from every agent's view.
    bool left = false, gone = false, row = false, cnode = false;
    int attempts = 0;
    int pending = 0;           // steps of the current attempt still running
    WorkQueue::Finish finish;  // of the current attempt (the queue runs one per member)
  };

  void on_pod(kube::EventType type, const nlohmann::json& obj, const nlohmann::json* old);
  void on_node(kube::EventType type, const nlohmann::json& obj, const nlohmann::json* old);
  void handle_pod_gone(const kube::PodView& pod, PruneReason reason);
  void remember_missed(const kube::PodView& pod);
  void note_untrusted(const kube::PodView& pod);  // logs a look-alike pod once
  void refresh_daemonset();
  bool verified(const kube::PodView& pod) const { return verified_agent(pod, agents_); }
  std::vector<kube::PodView> live_agent_pods() const;

  void poll_members();
  void poll_agent(std::shared_ptr<std::vector<std::string>> agents, size_t tried);
  void on_members(std::vector<Member> members);
  std::vector<std::string> healthy_agents(const std::string& except_uid = "") const;
  std::optional<std::string> agent_http_addr(const std::string& rpc_addr) const;
  void refresh_incarnations(const std::string& rpc_addr);
  bool node_ready(const std::string& node) const;
  const kube::PodView* pod_of(const Member& m, std::vector<kube::PodView>& scratch) const;
  bool protected_member(const Member& m) const;

  void prune(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
             Clock::time_point seen);
  void corroborate_then_prune(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                              Clock::time_point seen);
  void ask_second(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                  Clock::time_point seen, std::shared_ptr<std::vector<std::string>> others,
                  size_t next);
  void start_job(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                 Clock::time_point seen);
  void run_job(const std::string& name, WorkQueue::Finish finish);
  void force_leave_everywhere(const std::string& name);
  void verify_gone(const std::string& name, Clock::time_point since);
  void finish_step(const std::string& name);
  void report(PruneJob& job);

  void sync_clusternodes();
  void check_rules();
  void reconcile();
  void confirm_orphan(const Member& m);

  boost::asio::io_context& io_;
  KubeApi& kube_;
  AgentApi& rpc_;
  NodesStore* table_;
  Metrics& metrics_;
  ControllerOptions options_;
  std::shared_ptr<spdlog::logger> log_;

  std::unique_ptr<ObjectCache> pods_, nodes_, cnodes_;
  std::unique_ptr<ClusterNodeMirror> mirror_;
  bool leading_ = false;
  std::map<std::string, Member> members_;  // this cluster's members (options_.scope)
  std::set<std::string> foreign_names_;    // other Kubernetes clusters' members: left alone
  std::string members_source_;             // the agent (RPC address) members_ came from
  AgentIdentity agents_;                   // options_.agents with the DaemonSet's uid once known
  std::set<std::string> corroborating_;    // member names whose prune awaits a second view
  std::set<std::string> untrusted_seen_;   // uids of look-alike pods already reported
  std::map<std::string, uint64_t> incarnations_;  // last known, from an agent's HTTP API
  bool incarnations_in_flight_ = false;
  bool members_fresh_ = false;  // a poll succeeded since we started leading
  size_t poll_rotor_ = 0;
  bool poll_in_flight_ = false;
  std::map<std::string, Clock::time_point> not_ready_since_;  // node -> first seen NotReady
  std::map<std::string, PruneJob> jobs_;                      // member name -> prune in progress
  std::map<std::string, Clock::time_point> pruned_;           // recently pruned member names
  std::set<std::string> done_pods_;                           // pod uids already handled
  std::set<std::string> orphan_checks_;
  // Pods deleted while we were standing by, handled as deletions when we take over.
  std::vector<std::pair<kube::PodView, Clock::time_point>> missed_;
  bool reconcile_pending_ = false;
  WorkQueue prune_queue_;  // member names whose prune job has steps left
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer resync_timer_;
  boost::asio::steady_timer daemonset_timer_;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
