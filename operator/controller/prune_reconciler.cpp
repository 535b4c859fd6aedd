#include "operator/controller/prune_reconciler.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>

#include "common/logging.h"

namespace kc::controller {

namespace {
// After force-leave, the agents' views are read this often until none lists the member; if
// one still does after kGoneDeadline, force-leave is sent again. When every force-leave failed
// and the member is still listed after kLeaveFailedRestart, the attempt starts over.
constexpr auto kGoneCheckEvery = std::chrono::milliseconds(50);
constexpr auto kGoneDeadline = std::chrono::seconds(10);
constexpr auto kLeaveFailedRestart = std::chrono::seconds(6);

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

PruneReconciler::PruneReconciler(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc,
                                 NodesStore* rows, const AgentPods& pods, ClusterNodeMirror& mirror,
                                 Metrics& metrics, std::string identity, WorkQueueOptions retry,
                                 std::function<void(const Member&)> pruned)
    : io_(io),
      kube_(kube),
      rpc_(rpc),
      table_(rows),
      pods_(pods),
      mirror_(mirror),
      metrics_(metrics),
      identity_(std::move(identity)),
      pruned_(std::move(pruned)),
      log_(kc::log::get("controller")),
      queue_(io, retry, [this](const std::string& name, WorkQueue::Finish finish) {
        run(name, std::move(finish));
      }) {}

void PruneReconciler::add(PruneRequest r) {
  if (!active_ || jobs_.contains(r.member.name)) return;
  log_->info("pruning member {} ({})", r.member.name, to_string(r.reason));
  auto name = r.member.name;
  Job job;
  job.request = std::move(r);
  if (!table_) job.row = true;
  jobs_.emplace(name, std::move(job));
  metrics_.set_queue_depth(jobs_.size());
  queue_.add(name);
}

// One attempt at the steps of a member's prune that are not done yet; the queue runs one
// attempt per member at a time and retries failed ones after a per-member backoff.
void PruneReconciler::run(const std::string& name, WorkQueue::Finish finish) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || !active_) return finish(ReconcileResult::Done);
  auto& job = it->second;
  job.finish = std::move(finish);
  job.pending = 1;  // released at the end of this function, so no step finishes the job early
  if (!job.gone) force_leave_everywhere(name);
  if (!job.row) delete_row(name);
  if (!job.cnode) delete_clusternode(name);
  finish_step(name);
}

void PruneReconciler::delete_row(const std::string& name) {
  ++jobs_.at(name).pending;
  table_->delete_node(
      name, lifetime_.wrap([this, name](const std::optional<datastore::PgError>& err, bool) {
        auto j = jobs_.find(name);
        if (j == jobs_.end()) return;
        if (!err) {
          j->second.row = true;  // deleted now, or by an earlier attempt (or life)
        } else {
          metrics_.prune_error("row");
          log_->warn("deleting the nodes row of {} failed: {}", name, err->message);
        }
        finish_step(name);
      }));
}

void PruneReconciler::delete_clusternode(const std::string& name) {
  auto& job = jobs_.at(name);
  ++job.pending;
  kube_.request("DELETE", mirror_.path_of(job.request.member), std::nullopt,
                lifetime_.wrap([this, name](const kube::Response& r) {
                  auto j = jobs_.find(name);
                  if (j == jobs_.end()) return;
                  if (r.ok() || r.not_found()) {
                    j->second.cnode = true;
                  } else {
                    metrics_.prune_error("clusternode");
                    log_->warn("deleting the ClusterNode of {} failed: {}", name, r.describe());
                  }
                  finish_step(name);
                }));
}

// force-leave -prune on every live agent at once: each drops the member from its own view
// immediately rather than waiting for the intent to gossip around. When Kubernetes confirmed
// the pod is gone, the member is declared gone (dead at the gossip layer too), so agents erase
// it at once even if it still looked alive. Meanwhile the agents' views are read until none
// lists it: the prune is done when users can no longer see the member, which is usually well
// before the agents' replies (they answer once the intent has been gossiped).
void PruneReconciler::force_leave_everywhere(const std::string& name) {
  auto& job = jobs_.at(name);
  auto agents = pods_.rpc_addrs(job.request.pod ? job.request.pod->uid : "");
  if (agents.empty()) {
    job.left = job.gone = true;  // nobody left to tell: the member is gone with the last agent
    return;
  }
  if (!job.left) {
    bool confirmed_gone = job.request.reason != PruneReason::NodeNotReady;
    auto remaining = std::make_shared<size_t>(agents.size());
    auto any_ok = std::make_shared<bool>(false);
    for (auto& addr : agents) {
      rpc_.force_leave_prune(
          addr, name, confirmed_gone,
          lifetime_.wrap([this, name, remaining, any_ok](bool ok, const std::string& error) {
            if (ok) *any_ok = true;
            if (--*remaining > 0) return;
            auto j = jobs_.find(name);
            if (j == jobs_.end()) return;
            if (*any_ok) {
              j->second.left = true;
              return;
            }
            metrics_.prune_error("force_leave");
            log_->warn("force-leave {} failed on every agent: {}", name, error);
          }));
    }
  }
  ++job.pending;
  verify_gone(name, Clock::now());
}

// Reads every live agent's members until none lists `name`; one pending step of its job.
void PruneReconciler::verify_gone(const std::string& name, Clock::time_point since) {
  auto agents = pods_.rpc_addrs();
  auto j = jobs_.find(name);
  if (j == jobs_.end()) return;
  if (agents.empty()) {
    j->second.gone = true;
    finish_step(name);
    return;
  }
  auto remaining = std::make_shared<size_t>(agents.size());
  auto listed_by = std::make_shared<std::vector<std::string>>();
  for (auto& addr : agents) {
    rpc_.members(addr, lifetime_.wrap([this, name, since, addr, remaining, listed_by](
                                          std::optional<std::vector<Member>> ms,
                                          const std::string&) {
      // An agent that does not answer cannot show the member to anyone either.
      if (ms && std::any_of(ms->begin(), ms->end(), [&](auto& m) { return m.name == name; }))
        listed_by->push_back(addr);
      if (--*remaining > 0) return;
      auto j = jobs_.find(name);
      if (j == jobs_.end()) return;
      if (listed_by->empty()) {
        j->second.gone = true;
        finish_step(name);
        return;
      }
      if (!j->second.left && Clock::now() - since > kLeaveFailedRestart) {
        // Every force-leave failed and the member is still there: start over.
        finish_step(name);
        return;
      }
      if (Clock::now() - since >= kGoneDeadline) {
        // Told, yet still listed (the intent was lost, or an agent restarted): tell again.
        log_->warn("{} still lists {} {:.0f} s after force-leave: sending it again",
                   (*listed_by)[0], name, seconds_since(since));
        metrics_.prune_error("still_listed");
        j->second.left = false;
        finish_step(name);
        return;
      }
      auto timer = std::make_shared<boost::asio::steady_timer>(io_, kGoneCheckEvery);
      timer->async_wait(lifetime_.wrap([this, name, since, timer](boost::system::error_code ec) {
        if (!ec && active_) verify_gone(name, since);
      }));
    }));
  }
}

void PruneReconciler::finish_step(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return;
  auto& job = it->second;
  if (--job.pending > 0) return;
  if (job.gone && job.row && job.cnode) {
    report(job);
    auto member = job.request.member;
    auto finish = std::move(job.finish);
    jobs_.erase(it);
    metrics_.set_queue_depth(jobs_.size());
    mirror_.forget(name);
    if (pruned_) pruned_(member);
    if (finish) finish(ReconcileResult::Done);
    return;
  }
  // Retry what failed (Postgres down, API errors) after the member's backoff.
  if (auto finish = std::move(job.finish)) finish(ReconcileResult::Retry);
}

void PruneReconciler::report(const Job& job) {
  const auto& r = job.request;
  double latency = seconds_since(r.seen);
  metrics_.prune(to_string(r.reason), latency);
  log_->info(
      "pruned member {} ({}): gone from every agent's view, row and ClusterNode deleted {:.0f} ms "
      "after the pod event",
      r.member.name, to_string(r.reason), latency * 1000);
  std::string ns;
  std::string pod_name;
  std::string uid;
  if (r.pod) {
    ns = r.pod->ns;
    pod_name = r.pod->name;
    uid = r.pod->uid;
  } else {
    auto tag = [&](const char* k) {
      auto it = r.member.tags.find(k);
      return it == r.member.tags.end() ? std::string() : it->second;
    };
    ns = tag("namespace");
    pod_name = tag("pod");
    uid = tag("uid");
  }
  if (ns.empty() || pod_name.empty()) return;
  nlohmann::json involved = {
      {"kind", "Pod"}, {"apiVersion", "v1"}, {"namespace", ns}, {"name", pod_name}, {"uid", uid}};
  auto ev = kube::make_event(involved, "Normal", "MemberPruned",
                             "member " + r.member.name + " force-left with prune (" +
                                 to_string(r.reason) + "), its nodes row and ClusterNode deleted",
                             kManagedBy, identity_);
  kube_.request("POST", kube::events_path(ns), ev,
                lifetime_.wrap([this](const kube::Response& res) {
                  if (!res.ok()) log_->debug("recording an event failed: {}", res.describe());
                }));
}

}  // namespace kc::controller
