#include "operator/controller/controller.h"

#include <algorithm>

#include "common/logging.h"
#include "kube/resources.h"
#include "operator/controller/incarnations.h"

namespace kc::controller {

namespace {
// After a prune, agents that have not heard of it yet may still list the member for a moment;
// it is kept out of the membership view meanwhile so its ClusterNode is not re-created.
constexpr auto kPrunedMemory = std::chrono::seconds(30);
// A row with no member is deleted only once it is older than this: an agent registers its row
// right after joining, and a membership poll may predate the join.
constexpr auto kGhostRowAge = std::chrono::seconds(60);
// The agent DaemonSet's uid is looked up this often while unknown, then every resync.
constexpr auto kDaemonSetRetry = std::chrono::seconds(2);
// After force-leave, the agents' views are read this often until none lists the member; if
// one still does after kGoneDeadline, force-leave is sent again.
constexpr auto kGoneCheckEvery = std::chrono::milliseconds(50);
constexpr auto kGoneDeadline = std::chrono::seconds(10);

// "ip:port" of an agent pod's port (IPv6 in brackets).
std::string agent_addr(const std::string& ip, int port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

Controller::Controller(boost::asio::io_context& io, KubeApi& kube, AgentApi& rpc, NodesStore* rows,
                       Metrics& metrics, ControllerOptions options)
    : io_(io),
      kube_(kube),
      rpc_(rpc),
      table_(rows),
      metrics_(metrics),
      options_(std::move(options)),
      log_(kc::log::get("controller")),
      agents_(options_.agents),
      prune_queue_(io, options_.retry,
                   [this](const std::string& name, WorkQueue::Finish finish) {
                     run_job(name, std::move(finish));
                   }),
      poll_timer_(io),
      resync_timer_(io),
      daemonset_timer_(io) {
  kube::InformerOptions po;
  po.path = kube::pods_path(options_.ns);
  po.label_selector = options_.selector;
  pods_ = kube_.watch(po, "pods");
  kube::InformerOptions no;
  no.path = kube::nodes_path();
  nodes_ = kube_.watch(no, "nodes");
  kube::InformerOptions co;
  co.path = kube::clusternodes_path("");
  co.label_selector = std::string("app.kubernetes.io/managed-by=") + kManagedBy;
  cnodes_ = kube_.watch(co, "clusternodes");
  mirror_ = std::make_unique<ClusterNodeMirror>(kube_, *cnodes_, options_.default_ns);
  pods_->set_handler([this](kube::EventType t, const nlohmann::json& o, const nlohmann::json* old) {
    on_pod(t, o, old);
  });
  nodes_->set_handler([this](kube::EventType t, const nlohmann::json& o,
                             const nlohmann::json* old) { on_node(t, o, old); });
}

Controller::~Controller() = default;

void Controller::start() {
  nodes_->start();
  pods_->start();
  cnodes_->start();
  if (agents_.trust_selector) {
    log_->warn(
        "--insecure-trust-selector: every pod matching the selector is treated as an agent "
        "(sent the RPC token, believed about membership)");
  } else {
    refresh_daemonset();
  }
}

// The DaemonSet's uid is what a pod's owner reference must name: a DaemonSet deleted and
// created again under the same name is another owner, whose pods are trusted once it is read.
void Controller::refresh_daemonset() {
  kube_.get(kube::daemonset_path(agents_.ns, agents_.daemonset),
            lifetime_.wrap([this](kube::Response r) {
              std::string uid = agents_.daemonset_uid;
              if (r.ok()) {
                uid = r.body.value("metadata", nlohmann::json::object()).value("uid", "");
              } else if (r.not_found()) {
                uid.clear();
              } else {
                log_->warn("reading the agent DaemonSet {}/{} failed: {}", agents_.ns,
                           agents_.daemonset, r.describe());
              }
              if (uid != agents_.daemonset_uid) {
                if (uid.empty()) {
                  log_->warn("agent DaemonSet {}/{} not found: no pod is trusted as an agent",
                             agents_.ns, agents_.daemonset);
                } else {
                  log_->info("agent DaemonSet {}/{} (uid {}): only its pods are trusted",
                             agents_.ns, agents_.daemonset, uid);
                }
                agents_.daemonset_uid = uid;
                for (auto& [key, obj] : pods_->items()) note_untrusted(kube::pod_view(obj));
              }
              daemonset_timer_.expires_after(agents_.daemonset_uid.empty()
                                                 ? std::chrono::milliseconds(kDaemonSetRetry)
                                                 : options_.resync);
              daemonset_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
                if (!ec) refresh_daemonset();
              }));
            }));
}

bool Controller::synced() const {
  return pods_->synced() && nodes_->synced() && cnodes_->synced();
}

void Controller::set_leading(bool on) {
  if (on == leading_) return;
  leading_ = on;
  metrics_.set_leader(on);
  if (!on) {
    poll_timer_.cancel();
    resync_timer_.cancel();
    return;
  }
  log_->info("leading: reconciling, then acting on pod events");
  members_fresh_ = false;
  reconcile_pending_ = true;
  poll_members();
  resync_timer_.expires_after(options_.resync);
  resync_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec && leading_) reconcile();
  }));
}

// ---- Kubernetes events ----

void Controller::on_pod(kube::EventType type, const nlohmann::json& obj, const nlohmann::json*) {
  auto pod = kube::pod_view(obj);
  if (!agents_.trust_selector && agents_.daemonset_uid.empty()) {
    // Until the DaemonSet has been read no pod is trusted; a deletion is kept for then.
    if (type == kube::EventType::Deleted) remember_missed(pod);
    return;
  }
  // A pod with the agents' labels that the DaemonSet does not own is nobody's agent: its
  // coming and going says nothing about any member.
  if (!verified(pod)) {
    if (type == kube::EventType::Deleted) {
      untrusted_seen_.erase(pod.uid);
    } else {
      note_untrusted(pod);
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
  if (pod.phase == "Failed" && leading_ && !done_pods_.count(pod.uid))
    handle_pod_gone(pod, PruneReason::PodFailed);
}

void Controller::note_untrusted(const kube::PodView& pod) {
  if (agents_.daemonset_uid.empty() || verified(pod) || !untrusted_seen_.insert(pod.uid).second)
    return;
  log_->warn("pod {}/{} matches the agent selector but is not the agent DaemonSet's: ignored",
             pod.ns, pod.name);
}

void Controller::remember_missed(const kube::PodView& pod) {
  missed_.emplace_back(pod, Clock::now());
  if (missed_.size() > 10000) missed_.erase(missed_.begin());
}

void Controller::on_node(kube::EventType type, const nlohmann::json& obj, const nlohmann::json*) {
  auto node = kube::node_view(obj);
  // NotReady time is measured from when we saw it, on our own clock, like lease expiry: the
  // condition's lastTransitionTime comes from another machine's clock.
  if (type == kube::EventType::Deleted || node.ready) {
    not_ready_since_.erase(node.name);
  } else {
    not_ready_since_.emplace(node.name, Clock::now());
  }
}

void Controller::handle_pod_gone(const kube::PodView& pod, PruneReason reason) {
  done_pods_.insert(pod.uid);
  auto seen = Clock::now();
  auto act = [this, pod, reason, seen]() {
    bool any = false;
    for (auto& [name, m] : members_) {
      if (!member_of_pod(m, pod)) continue;
      any = true;
      prune(m, reason, pod, seen);
    }
    return any;
  };
  if (act()) return;
  // The member may have joined after our last poll: ask an agent now, then look again.
  auto agents = healthy_agents(pod.uid);
  if (agents.empty()) return;
  rpc_.members(agents.front(), [this, act, pod, source = agents.front()](
                                   std::optional<std::vector<Member>> ms, std::string error) {
    if (ms) {
      members_source_ = source;
      on_members(std::move(*ms));
    }
    if (!act())
      log_->info("pod {}/{} ({}) is gone but no member carries its uid or name", pod.ns, pod.name,
                 to_string(PruneReason::PodDeleted));
  });
}

// ---- membership ----

bool Controller::node_ready(const std::string& node) const {
  if (node.empty()) return true;
  if (!not_ready_since_.count(node)) return true;
  return false;
}

std::vector<std::string> Controller::healthy_agents(const std::string& except_uid) const {
  std::vector<std::string> out;
  for (auto& pod : live_agent_pods()) {
    if (pod.uid == except_uid || pod.ip.empty()) continue;
    out.push_back(agent_addr(pod.ip, pod.rpc_port.value_or(options_.agent_rpc_port)));
  }
  return out;
}

// Verified agent pods that are Running and Ready on Ready Nodes: the only ones asked about
// membership or sent the RPC token.
std::vector<kube::PodView> Controller::live_agent_pods() const {
  std::vector<kube::PodView> out;
  for (auto& [key, obj] : pods_->items()) {
    auto pod = kube::pod_view(obj);
    if (verified(pod) && pod_protected(pod, node_ready(pod.node))) out.push_back(std::move(pod));
  }
  return out;
}

const kube::PodView* Controller::pod_of(const Member& m,
                                        std::vector<kube::PodView>& scratch) const {
  for (auto& [key, obj] : pods_->items()) {
    auto pod = kube::pod_view(obj);
    if (member_of_pod(m, pod)) {
      scratch.push_back(pod);
      return &scratch.back();
    }
  }
  return nullptr;
}

bool Controller::protected_member(const Member& m) const {
  for (auto& [key, obj] : pods_->items()) {
    auto pod = kube::pod_view(obj);
    if (member_of_pod(m, pod) && pod_protected(pod, node_ready(pod.node))) return true;
  }
  // Whatever its tags claim: a member gossiping from a live agent pod's address is that
  // agent, still serving.
  return address_protected(m, live_agent_pods(), members_);
}

void Controller::poll_members() {
  if (!leading_) return;
  poll_timer_.expires_after(options_.member_poll);
  poll_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec) poll_members();
  }));
  if (poll_in_flight_) return;
  auto agents = healthy_agents();
  if (agents.empty()) return;
  poll_in_flight_ = true;
  poll_agent(std::make_shared<std::vector<std::string>>(std::move(agents)), 0);
}

// Asks the agents in turn (starting at a rotating offset) until one answers: a pod can be
// Running and Ready while its agent is cut off, and that must not blind the controller.
void Controller::poll_agent(std::shared_ptr<std::vector<std::string>> agents, size_t tried) {
  if (tried >= agents->size()) {
    poll_in_flight_ = false;
    return;
  }
  auto addr = (*agents)[poll_rotor_++ % agents->size()];
  rpc_.members(
      addr, [this, addr, agents, tried](std::optional<std::vector<Member>> ms, std::string error) {
        if (!ms) {
          log_->debug("members from {} failed: {}", addr, error);
          poll_agent(agents, tried + 1);
          return;
        }
        poll_in_flight_ = false;
        members_source_ = addr;
        on_members(std::move(*ms));
        refresh_incarnations(addr);
      });
}

// The pod whose agent answers RPC at `rpc_addr` (as healthy_agents() wrote it): its HTTP API.
std::optional<std::string> Controller::agent_http_addr(const std::string& rpc_addr) const {
  for (auto& [key, obj] : pods_->items()) {
    auto pod = kube::pod_view(obj);
    if (!pod.http_port || !verified(pod) ||
        agent_addr(pod.ip, pod.rpc_port.value_or(options_.agent_rpc_port)) != rpc_addr)
      continue;
    return agent_addr(pod.ip, *pod.http_port);
  }
  return std::nullopt;
}

void Controller::refresh_incarnations(const std::string& rpc_addr) {
  if (incarnations_in_flight_) return;
  auto http_addr = agent_http_addr(rpc_addr);
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
                       if (leading_) sync_clusternodes();
                     }));
}

void Controller::on_members(std::vector<Member> members) {
  auto now = Clock::now();
  std::erase_if(pruned_, [&](auto& p) { return now - p.second > kPrunedMemory; });
  members_.clear();
  foreign_names_.clear();
  std::map<std::string, int> by_status;
  for (auto& m : members) {
    if (pruned_.count(m.name)) continue;
    ++by_status[m.status];
    if (!own_member(m, options_.scope)) {
      // Another Kubernetes cluster's: its operator prunes and mirrors it; its row stays.
      foreign_names_.insert(m.name);
      continue;
    }
    // Kept between polls, so the ClusterNode status does not lose it while a fetch runs.
    if (auto it = incarnations_.find(m.name); it != incarnations_.end()) m.incarnation = it->second;
    members_[m.name] = std::move(m);
  }
  members_fresh_ = true;
  metrics_.set_members(by_status);
  metrics_.set_foreign_members(foreign_names_.size());
  if (!leading_) return;
  if (!missed_.empty()) {
    auto missed = std::move(missed_);
    missed_.clear();
    for (auto& [pod, seen] : missed) {
      if (done_pods_.count(pod.uid) || !verified(pod)) continue;
      done_pods_.insert(pod.uid);
      for (auto& [name, m] : members_)
        if (member_of_pod(m, pod)) prune(m, PruneReason::PodDeleted, pod, seen);
    }
  }
  sync_clusternodes();
  check_rules();
  if (reconcile_pending_) {
    reconcile_pending_ = false;
    reconcile();
  }
}

void Controller::check_rules() {
  auto now = Clock::now();
  for (auto& [name, m] : members_) {
    if (jobs_.count(name) || !has_pod_tags(m)) continue;
    std::vector<kube::PodView> scratch;
    const kube::PodView* pod = pod_of(m, scratch);
    if (pod) {
      if (pod->phase == "Failed") {
        prune(m, PruneReason::PodFailed, *pod, now);
        continue;
      }
      auto nr = not_ready_since_.find(pod->node);
      if (m.status == "failed" && nr != not_ready_since_.end() &&
          now - nr->second >= options_.failed_grace) {
        prune(m, PruneReason::NodeNotReady, *pod, now);
      }
      continue;
    }
    if (pods_->synced()) confirm_orphan(m);
  }
}

void Controller::confirm_orphan(const Member& m) {
  auto tag = [&](const char* k) {
    auto it = m.tags.find(k);
    return it == m.tags.end() ? std::string() : it->second;
  };
  std::string ns = tag("namespace"), pod = tag("pod"), uid = tag("uid");
  if (ns.empty() || pod.empty()) return;  // only a uid: no way to GET it; leave it alone
  if (!options_.ns.empty() && ns != options_.ns) return;  // outside what we watch
  if (orphan_checks_.count(m.name)) return;
  orphan_checks_.insert(m.name);
  // The cache says there is no pod; act only on a fresh answer from the server.
  kube_.get(kube::pod_path(ns, pod), lifetime_.wrap([this, m, uid](kube::Response r) {
    orphan_checks_.erase(m.name);
    if (!leading_) return;
    bool gone = r.not_found();
    if (r.ok() && !uid.empty() && kube::pod_view(r.body).uid != uid) gone = true;
    if (!gone) return;
    auto it = members_.find(m.name);
    if (it == members_.end()) return;
    prune(it->second, PruneReason::Orphan, std::nullopt, Clock::now());
  }));
}

// ---- pruning ----

void Controller::prune(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                       Clock::time_point seen) {
  if (!leading_ || jobs_.count(m.name) || corroborating_.count(m.name)) return;
  if (protected_member(m)) {
    log_->warn("not pruning {} ({}): it is a Running and Ready agent pod's member", m.name,
               m.address);
    metrics_.prune_refused("live_pod");
    return;
  }
  corroborate_then_prune(m, reason, std::move(pod), seen);
}

// One agent's report is not enough to remove a member: a second verified agent, when there is
// one, must not contradict it (same address, same pod tags; for a NodeNotReady prune, failed
// there too). A member the second agent no longer lists is no contradiction. When no other
// agent answers, nothing is done now: the periodic rules (an orphan confirmed by a fresh GET)
// come back to it.
void Controller::corroborate_then_prune(const Member& m, PruneReason reason,
                                        std::optional<kube::PodView> pod, Clock::time_point seen) {
  auto others = std::make_shared<std::vector<std::string>>();
  for (auto& addr : healthy_agents(pod ? pod->uid : ""))
    if (addr != members_source_) others->push_back(addr);
  if (others->empty()) return start_job(m, reason, std::move(pod), seen);
  std::rotate(others->begin(), others->begin() + static_cast<long>(poll_rotor_++ % others->size()),
              others->end());
  corroborating_.insert(m.name);
  ask_second(m, reason, std::move(pod), seen, others, 0);
}

void Controller::ask_second(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                            Clock::time_point seen,
                            std::shared_ptr<std::vector<std::string>> others, size_t next) {
  if (next >= others->size()) {
    corroborating_.erase(m.name);
    log_->warn("not pruning {} ({}) now: no second agent answered to confirm it", m.name,
               to_string(reason));
    metrics_.prune_refused("unconfirmed");
    return;
  }
  auto second = (*others)[next];
  rpc_.members(second, [this, m, reason, pod, seen, others, next, second](
                           std::optional<std::vector<Member>> ms, std::string error) {
    if (!ms) {
      log_->debug("{} did not answer for a second view of {}: {}", second, m.name, error);
      return ask_second(m, reason, pod, seen, others, next + 1);
    }
    corroborating_.erase(m.name);
    if (!leading_ || jobs_.count(m.name)) return;
    auto theirs =
        std::find_if(ms->begin(), ms->end(), [&](const Member& x) { return x.name == m.name; });
    bool contradicted = theirs != ms->end() &&
                        (!reports_agree(m, *theirs) ||
                         (reason == PruneReason::NodeNotReady && theirs->status != "failed"));
    if (contradicted) {
      log_->warn("not pruning {} ({}): {} reports it as {} {} where {} said {} {}", m.name,
                 to_string(reason), second, theirs->status, theirs->address, members_source_,
                 m.status, m.address);
      metrics_.prune_refused("disagreement");
      return;
    }
    if (protected_member(m)) {
      metrics_.prune_refused("live_pod");
      return;
    }
    start_job(m, reason, pod, seen);
  });
}

void Controller::start_job(const Member& m, PruneReason reason, std::optional<kube::PodView> pod,
                           Clock::time_point seen) {
  if (!leading_ || jobs_.count(m.name)) return;
  log_->info("pruning member {} ({})", m.name, to_string(reason));
  PruneJob job;
  job.member = m;
  job.reason = reason;
  job.seen = seen;
  job.pod = std::move(pod);
  if (!table_) job.row = true;
  jobs_.emplace(m.name, std::move(job));
  metrics_.set_queue_depth(jobs_.size());
  prune_queue_.add(m.name);
}

// One attempt at the steps of a member's prune that are not done yet; the queue runs one
// attempt per member at a time and retries failed ones after a per-member backoff.
void Controller::run_job(const std::string& name, WorkQueue::Finish finish) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || !leading_) return finish(ReconcileResult::Done);
  auto& job = it->second;
  job.finish = std::move(finish);
  ++job.attempts;
  job.pending = 1;  // released at the end of this function, so no step finishes the job early
  if (!job.gone) force_leave_everywhere(name);
  if (!job.row && table_) {
    ++job.pending;
    table_->delete_node(name, [this, name](const std::optional<datastore::PgError>& err, bool) {
      auto j = jobs_.find(name);
      if (j == jobs_.end()) return;
      if (!err) {
        j->second.row = true;
      } else {
        metrics_.prune_error("row");
        log_->warn("deleting the nodes row of {} failed: {}", name, err->message);
      }
      finish_step(name);
    });
  }
  if (!job.cnode) {
    ++job.pending;
    kube_.request("DELETE", mirror_->path_of(job.member), std::nullopt,
                  lifetime_.wrap([this, name](kube::Response r) {
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
  finish_step(name);
}

// force-leave -prune on every healthy agent at once: each drops the member from its own view
// immediately rather than waiting for the intent to gossip around. When Kubernetes confirmed
// the pod is gone, the member is declared gone (dead at the gossip layer too), so agents erase
// it at once even if it still looked alive. Meanwhile the agents' views are read until none
// lists it: the prune is done when users can no longer see the member, which is usually well
// before the agents' replies (they answer once the intent has been gossiped).
void Controller::force_leave_everywhere(const std::string& name) {
  auto& job = jobs_.at(name);
  auto agents = healthy_agents(job.pod ? job.pod->uid : "");
  if (agents.empty()) {
    job.left = job.gone = true;  // nobody left to tell: the member is gone with the last agent
    return;
  }
  if (!job.left) {
    bool confirmed_gone = job.reason != PruneReason::NodeNotReady;
    auto remaining = std::make_shared<size_t>(agents.size());
    auto any_ok = std::make_shared<bool>(false);
    for (auto& addr : agents) {
      rpc_.force_leave_prune(addr, name, confirmed_gone,
                             [this, name, remaining, any_ok](bool ok, std::string error) {
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
                             });
    }
  }
  ++job.pending;
  verify_gone(name, Clock::now());
}

// Reads every healthy agent's members until none lists `name`; one pending step of its job.
void Controller::verify_gone(const std::string& name, Clock::time_point since) {
  auto agents = healthy_agents();
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
    rpc_.members(addr, [this, name, since, addr, remaining, listed_by](
                           std::optional<std::vector<Member>> ms, std::string) {
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
      if (!j->second.left && seconds_since(since) > 6) {
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
        if (!ec && leading_) verify_gone(name, since);
      }));
    });
  }
}

void Controller::finish_step(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return;
  auto& job = it->second;
  if (--job.pending > 0) return;
  if (job.gone && job.row && job.cnode) {
    report(job);
    pruned_[name] = Clock::now();
    members_.erase(name);
    mirror_->forget(name);
    auto finish = std::move(job.finish);
    jobs_.erase(it);
    metrics_.set_queue_depth(jobs_.size());
    if (finish) finish(ReconcileResult::Done);
    return;
  }
  // Retry what failed (Postgres down, API errors) after the member's backoff.
  if (auto finish = std::move(job.finish)) finish(ReconcileResult::Retry);
}

void Controller::report(PruneJob& job) {
  double latency = seconds_since(job.seen);
  metrics_.prune(to_string(job.reason), latency);
  log_->info(
      "pruned member {} ({}): gone from every agent's view, row and ClusterNode deleted {:.0f} ms "
      "after the pod event",
      job.member.name, to_string(job.reason), latency * 1000);
  std::string ns, pod_name, uid;
  if (job.pod) {
    ns = job.pod->ns;
    pod_name = job.pod->name;
    uid = job.pod->uid;
  } else {
    auto t = job.member.tags;
    ns = t["namespace"];
    pod_name = t["pod"];
    uid = t["uid"];
  }
  if (ns.empty() || pod_name.empty()) return;
  nlohmann::json involved = {
      {"kind", "Pod"}, {"apiVersion", "v1"}, {"namespace", ns}, {"name", pod_name}, {"uid", uid}};
  auto ev = kube::make_event(involved, "Normal", "MemberPruned",
                             "member " + job.member.name + " force-left with prune (" +
                                 to_string(job.reason) + "), its nodes row and ClusterNode deleted",
                             kManagedBy, options_.identity);
  kube_.request("POST", kube::events_path(ns), ev, lifetime_.wrap([this](kube::Response r) {
    if (!r.ok()) log_->debug("recording an event failed: {}", r.describe());
  }));
}

// ---- ClusterNodes ----

void Controller::sync_clusternodes() {
  for (auto& [name, m] : members_)
    if (!jobs_.count(name)) mirror_->upsert(m);
}

// ---- periodic reconcile ----

void Controller::reconcile() {
  if (!leading_) return;
  auto started = Clock::now();
  resync_timer_.expires_after(options_.resync);
  resync_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec && leading_) reconcile();
  }));
  if (!members_fresh_ || !synced()) {
    metrics_.reconcile("requeue", seconds_since(started));
    return;
  }
  check_rules();
  // Forget handled pods that are gone from the cache, so the set does not grow forever.
  std::set<std::string> live;
  for (auto& [key, obj] : pods_->items()) live.insert(kube::pod_view(obj).uid);
  std::erase_if(done_pods_, [&](const std::string& uid) { return !live.count(uid); });
  // ClusterNodes whose member is gone from gossip.
  mirror_->delete_unless(
      [this](const std::string& member) { return members_.count(member) || jobs_.count(member); });
  // Rows whose member is gone (ghosts an earlier crash or Kong left behind).
  if (table_) {
    table_->live_nodes(lifetime_.wrap([this, started](const std::optional<datastore::PgError>& err,
                                                      std::vector<datastore::NodeRow> rows) {
      if (err) {
        metrics_.reconcile("error", seconds_since(started));
        return;
      }
      metrics_.set_rows(rows.size());
      auto now = std::chrono::system_clock::now();
      for (auto& row : rows) {
        if (members_.count(row.name) || foreign_names_.count(row.name) || jobs_.count(row.name))
          continue;
        if (now - row.created_at < kGhostRowAge) continue;
        log_->info("deleting ghost row {} ({}): no such member", row.name, row.address);
        table_->delete_node(row.name, [](const std::optional<datastore::PgError>&, bool) {});
      }
      metrics_.reconcile("success", seconds_since(started));
    }));
  } else {
    metrics_.reconcile("success", seconds_since(started));
  }
}

}  // namespace kc::controller
