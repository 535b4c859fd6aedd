#include "operator/controller/controller.h"

#include "common/logging.h"
#include "kube/resources.h"
#include "operator/controller/agent_pods.h"
#include "operator/controller/clusternode_mirror.h"
#include "operator/controller/clusternode_reconciler.h"
#include "operator/controller/membership.h"
#include "operator/controller/nodes_reconciler.h"
#include "operator/controller/orphan_check.h"
#include "operator/controller/prune_gate.h"
#include "operator/controller/prune_reconciler.h"

namespace kc::controller {

namespace {
// Pods deleted while standing by are kept for the takeover, up to this many.
constexpr size_t kMissedMax = 10000;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::unique_ptr<ObjectCache> watch(KubeApi& kube, const std::string& name, std::string path,
                                   std::string selector) {
  kube::InformerOptions o;
  o.path = std::move(path);
  o.label_selector = std::move(selector);
  return kube.watch(o, name);
}
}  // namespace

Controller::Controller(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc, NodesStore* rows,
                       Metrics& metrics, ControllerOptions options)
    : metrics_(metrics),
      options_(std::move(options)),
      log_(kc::log::get("controller")),
      pods_(watch(kube, "pods", kube::pods_path(options_.ns), options_.selector)),
      nodes_(watch(kube, "nodes", kube::nodes_path(), "")),
      cnodes_(watch(kube, "clusternodes", kube::clusternodes_path(""),
                    std::string("app.kubernetes.io/managed-by=") + kManagedBy)),
      resync_timer_(io) {
  agents_ = std::make_unique<AgentPods>(io, kube, *pods_, options_.agents, options_.agent_rpc_port,
                                        options_.resync);
  Membership::Callbacks on_poll;
  on_poll.polled = [this] { on_members(); };
  on_poll.incarnations = [this] {
    if (leading_) clusternodes_->sync();
  };
  membership_ = std::make_unique<Membership>(io, rpc, *agents_, metrics, options_.scope,
                                             options_.member_poll, std::move(on_poll));
  mirror_ = std::make_unique<ClusterNodeMirror>(kube, *cnodes_, options_.default_ns);
  prunes_ =
      std::make_unique<PruneReconciler>(io, kube, rpc, rows, *agents_, *mirror_, metrics,
                                        options_.identity, options_.retry, [this](const Member& m) {
                                          membership_->pruned(m.name);
                                          clusternodes_->forget(m.name);
                                        });
  gate_ = std::make_unique<PruneGate>(rpc, *agents_, *membership_, *prunes_, metrics);
  auto pruning = [this](const std::string& name) { return prunes_->has(name); };
  clusternodes_ = std::make_unique<ClusterNodeReconciler>(io, *mirror_, *cnodes_, *membership_,
                                                          pruning, options_.retry);
  if (rows) {
    rows_ = std::make_unique<NodesReconciler>(
        io, *rows, metrics,
        [this](const std::string& name) {
          return membership_->find(name) || membership_->foreign(name) || prunes_->has(name);
        },
        options_.retry);
  }
  orphans_ = std::make_unique<OrphanCheck>(kube, options_.ns);
  pods_->set_handler(
      [this](kube::EventType t, const nlohmann::json& o, const nlohmann::json*) { on_pod(t, o); });
  nodes_->set_handler([this](kube::EventType t, const nlohmann::json& o, const nlohmann::json*) {
    agents_->on_node(t, o);
  });
}

Controller::~Controller() = default;

void Controller::start() {
  nodes_->start();
  pods_->start();
  cnodes_->start();
  agents_->start();
}

bool Controller::synced() const {
  return pods_->synced() && nodes_->synced() && cnodes_->synced();
}

void Controller::set_leading(bool on) {
  if (on == leading_) return;
  leading_ = on;
  prunes_->set_active(on);
  metrics_.set_leader(on);
  if (!on) {
    membership_->stop();
    resync_timer_.cancel();
    return;
  }
  log_->info("leading: reconciling, then acting on pod events");
  reconcile_pending_ = true;
  membership_->start();
  schedule_reconcile();
}

// ---- Kubernetes events ----

void Controller::on_pod(kube::EventType type, const nlohmann::json& obj) {
  auto pod = kube::pod_view(obj);
  if (!agents_->trusting()) {
    // Until the DaemonSet has been read no pod is trusted; a deletion is kept for then.
    if (type == kube::EventType::Deleted) remember_missed(pod);
    return;
  }
  // A pod with the agents' labels that the DaemonSet does not own is nobody's agent: its
  // coming and going says nothing about any member.
  if (!agents_->verified(pod)) {
    if (type == kube::EventType::Deleted) {
      agents_->forget_untrusted(pod.uid);
    } else {
      agents_->note_untrusted(pod);
    }
    return;
  }
  if (type == kube::EventType::Deleted) {
    if (leading_) {
      handle_pod_gone(pod, PruneReason::PodDeleted);
    } else {
      remember_missed(pod);
    }
    return;
  }
  if (pod.phase == "Failed" && leading_ && !done_pods_.contains(pod.uid))
    handle_pod_gone(pod, PruneReason::PodFailed);
}

void Controller::remember_missed(const kube::PodView& pod) {
  missed_.emplace_back(pod, Clock::now());
  if (missed_.size() > kMissedMax) missed_.erase(missed_.begin());
}

void Controller::handle_pod_gone(const kube::PodView& pod, PruneReason reason) {
  done_pods_.insert(pod.uid);
  auto seen = Clock::now();
  auto act = [this, pod, reason, seen]() {
    bool any = false;
    for (const auto& [name, m] : membership_->members()) {
      if (!member_of_pod(m, pod)) continue;
      any = true;
      prune(m, reason, pod, seen);
    }
    return any;
  };
  if (act()) return;
  // The member may have joined after our last poll: ask an agent now, then look again.
  auto agents = agents_->rpc_addrs(pod.uid);
  if (agents.empty()) return;
  membership_->read_now(agents.front(), [this, act, pod] {
    if (!act())
      log_->info("pod {}/{} ({}) is gone but no member carries its uid or name", pod.ns, pod.name,
                 to_string(PruneReason::PodDeleted));
  });
}

// ---- membership ----

// A membership read: pods missed while standing by, ClusterNodes, the prune rules, and the
// first full reconcile after taking over.
void Controller::on_members() {
  if (!leading_) return;
  if (!missed_.empty()) {
    auto missed = std::move(missed_);
    missed_.clear();
    for (auto& [pod, seen] : missed) {
      if (done_pods_.contains(pod.uid) || !agents_->verified(pod)) continue;
      done_pods_.insert(pod.uid);
      for (const auto& [name, m] : membership_->members())
        if (member_of_pod(m, pod)) prune(m, PruneReason::PodDeleted, pod, seen);
    }
  }
  clusternodes_->sync();
  check_rules();
  if (reconcile_pending_) {
    reconcile_pending_ = false;
    reconcile();
  }
}

// Members whose pod failed, whose Node has been NotReady for failed_grace while they are
// failed, or that have no pod at all (confirmed by a fresh GET).
void Controller::check_rules() {
  auto now = Clock::now();
  for (const auto& [name, m] : membership_->members()) {
    if (prunes_->has(name) || !has_pod_tags(m)) continue;
    if (auto pod = agents_->pod_of(m)) {
      if (pod->phase == "Failed") {
        prune(m, PruneReason::PodFailed, *pod, now);
        continue;
      }
      auto not_ready = agents_->not_ready_for(pod->node);
      if (m.status == "failed" && not_ready && *not_ready >= options_.failed_grace)
        prune(m, PruneReason::NodeNotReady, *pod, now);
      continue;
    }
    if (!pods_->synced()) continue;
    orphans_->check(m, [this, name = m.name] {
      if (!leading_) return;
      if (const Member* current = membership_->find(name))
        prune(*current, PruneReason::Orphan, std::nullopt, Clock::now());
    });
  }
}

void Controller::prune(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                       Clock::time_point seen) {
  if (!leading_) return;
  gate_->request(PruneRequest{m, reason, std::move(pod), seen});
}

// ---- periodic reconcile ----

void Controller::schedule_reconcile() {
  resync_timer_.expires_after(options_.resync);
  resync_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec && leading_) reconcile();
  }));
}

void Controller::reconcile() {
  if (!leading_) return;
  auto started = Clock::now();
  schedule_reconcile();
  if (!membership_->fresh() || !synced()) {
    metrics_.reconcile("requeue", seconds_since(started));
    return;
  }
  check_rules();
  // Forget handled pods that are gone from the cache, so the set does not grow forever.
  std::set<std::string> live;
  for (const auto& [key, obj] : pods_->items()) live.insert(kube::pod_view(obj).uid);
  std::erase_if(done_pods_, [&](const std::string& uid) { return !live.contains(uid); });
  // ClusterNodes of every member, and of those gone from gossip.
  clusternodes_->resync();
  // Rows whose member is gone (ghosts an earlier crash or Kong left behind).
  if (!rows_) return metrics_.reconcile("success", seconds_since(started));
  rows_->resync(lifetime_.wrap([this, started](bool ok) {
    metrics_.reconcile(ok ? "success" : "error", seconds_since(started));
  }));
}

}  // namespace kc::controller
