// The prune of a member, as a reconciler keyed by member name through a WorkQueue: force-leave
// with prune on every live agent (then read their views until none lists the member), delete
// its `nodes` row and its ClusterNode, record an Event. Each attempt runs the steps not done
// yet; one that fails (Postgres down, API errors) is retried after the member's backoff. Every
// step is idempotent (a row or ClusterNode already gone counts as deleted), so a controller
// that crashed between steps and is asked again finishes the job without acting twice where
// it matters. Whether a member may be pruned at all is PruneGate's decision (prune_gate.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/lifetime.h"
#include "kube/resources.h"
#include "operator/controller/agent_api.h"
#include "operator/controller/agent_pods.h"
#include "operator/controller/clusternode_mirror.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/mapping.h"
#include "operator/controller/metrics.h"
#include "operator/controller/nodes_store.h"
#include "operator/controller/work_queue.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

struct PruneRequest {
  Member member;
  PruneReason reason = PruneReason::Orphan;
  std::optional<kube::PodView> pod;            // the pod, when the event named one
  std::chrono::steady_clock::time_point seen;  // of the event: the prune's latency starts here
};

class PruneReconciler {
 public:
  using Clock = std::chrono::steady_clock;
  // `rows` may be null (no datastore: no row to delete). `pruned` runs once per finished job.
  PruneReconciler(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc, NodesStore* rows,
                  const AgentPods& pods, ClusterNodeMirror& mirror, Metrics& metrics,
                  std::string identity, WorkQueueOptions retry,
                  std::function<void(const Member&)> pruned);

  // Acting or not: inactive, attempts end without doing anything and checks stop.
  void set_active(bool on) { active_ = on; }
  bool active() const { return active_; }
  // Starts the prune of `r.member` unless one is in progress.
  void add(PruneRequest r);
  bool has(const std::string& name) const { return jobs_.contains(name); }
  size_t size() const { return jobs_.size(); }

 private:
  struct Job {
    PruneRequest request;
    // left: force-left on the agents; gone: then absent from every agent's view.
    bool left = false, gone = false, row = false, cnode = false;
    int pending = 0;           // steps of the current attempt still running
    WorkQueue::Finish finish;  // of the current attempt (the queue runs one per member)
  };

  void run(const std::string& name, WorkQueue::Finish finish);
  void force_leave_everywhere(const std::string& name);
  void verify_gone(const std::string& name, Clock::time_point since);
  void delete_row(const std::string& name);
  void delete_clusternode(const std::string& name);
  void finish_step(const std::string& name);
  void report(const Job& job);

  boost::asio::io_context& io_;
  KubeApi& kube_;
  AgentApi& rpc_;
  NodesStore* table_;
  const AgentPods& pods_;
  ClusterNodeMirror& mirror_;
  Metrics& metrics_;
  std::string identity_;  // for Events' source.host
  std::function<void(const Member&)> pruned_;
  std::shared_ptr<spdlog::logger> log_;
  bool active_ = false;
  std::map<std::string, Job> jobs_;  // member name -> prune in progress
  WorkQueue queue_;                  // member names whose prune has steps left
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
