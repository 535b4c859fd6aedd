#include "operator/controller/agent_pods.h"

#include "common/logging.h"

namespace kc::controller {

namespace {
// The agent DaemonSet's uid is looked up this often while unknown, then every resync.
constexpr auto kDaemonSetRetry = std::chrono::seconds(2);
}  // namespace

std::string agent_addr(const std::string& ip, int port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

AgentPods::AgentPods(boost::asio::io_context& io, KubeApi& kube, const ObjectCache& pods,
                     AgentIdentity agents, int rpc_port, std::chrono::milliseconds resync)
    : kube_(kube),
      pods_(pods),
      agents_(std::move(agents)),
      rpc_port_(rpc_port),
      resync_(resync),
      log_(kc::log::get("controller")),
      daemonset_timer_(io) {}

void AgentPods::start() {
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
void AgentPods::refresh_daemonset() {
  kube_.get(kube::daemonset_path(agents_.ns, agents_.daemonset),
            lifetime_.wrap([this](const kube::Response& r) {
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
                for (const auto& [key, obj] : pods_.items()) note_untrusted(kube::pod_view(obj));
              }
              daemonset_timer_.expires_after(agents_.daemonset_uid.empty()
                                                 ? std::chrono::milliseconds(kDaemonSetRetry)
                                                 : resync_);
              daemonset_timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
                if (!ec) refresh_daemonset();
              }));
            }));
}

void AgentPods::note_untrusted(const kube::PodView& pod) {
  if (agents_.daemonset_uid.empty() || verified(pod) || !untrusted_seen_.insert(pod.uid).second)
    return;
  log_->warn("pod {}/{} matches the agent selector but is not the agent DaemonSet's: ignored",
             pod.ns, pod.name);
}

void AgentPods::on_node(kube::EventType type, const nlohmann::json& obj) {
  auto node = kube::node_view(obj);
  // NotReady time is measured from when we saw it, on our own clock, like lease expiry: the
  // condition's lastTransitionTime comes from another machine's clock.
  if (type == kube::EventType::Deleted || node.ready) {
    not_ready_since_.erase(node.name);
  } else {
    not_ready_since_.emplace(node.name, Clock::now());
  }
}

bool AgentPods::node_ready(const std::string& node) const {
  return node.empty() || !not_ready_since_.contains(node);
}

std::optional<AgentPods::Clock::duration> AgentPods::not_ready_for(const std::string& node) const {
  auto it = not_ready_since_.find(node);
  if (it == not_ready_since_.end()) return std::nullopt;
  return Clock::now() - it->second;
}

std::vector<kube::PodView> AgentPods::live() const {
  std::vector<kube::PodView> out;
  for (const auto& [key, obj] : pods_.items()) {
    auto pod = kube::pod_view(obj);
    if (verified(pod) && pod_protected(pod, node_ready(pod.node))) out.push_back(std::move(pod));
  }
  return out;
}

std::vector<std::string> AgentPods::rpc_addrs(const std::string& except_uid) const {
  std::vector<std::string> out;
  for (auto& pod : live()) {
    if (pod.uid == except_uid || pod.ip.empty()) continue;
    out.push_back(agent_addr(pod.ip, pod.rpc_port.value_or(rpc_port_)));
  }
  return out;
}

std::optional<std::string> AgentPods::http_addr(const std::string& rpc_addr) const {
  for (const auto& [key, obj] : pods_.items()) {
    auto pod = kube::pod_view(obj);
    if (!pod.http_port || !verified(pod) ||
        agent_addr(pod.ip, pod.rpc_port.value_or(rpc_port_)) != rpc_addr)
      continue;
    return agent_addr(pod.ip, *pod.http_port);
  }
  return std::nullopt;
}

std::optional<kube::PodView> AgentPods::pod_of(const Member& m) const {
  for (const auto& [key, obj] : pods_.items()) {
    auto pod = kube::pod_view(obj);
    if (member_of_pod(m, pod)) return pod;
  }
  return std::nullopt;
}

bool AgentPods::protects(const Member& m, const std::map<std::string, Member>& members) const {
  for (const auto& [key, obj] : pods_.items()) {
    auto pod = kube::pod_view(obj);
    if (member_of_pod(m, pod) && pod_protected(pod, node_ready(pod.node))) return true;
  }
  // Whatever its tags claim: a member gossiping from a live agent pod's address is that
  // agent, still serving.
  return address_protected(m, live(), members);
}

}  // namespace kc::controller
