#include "operator/controller/clusternode_mirror.h"

#include <vector>

#include "common/logging.h"
#include "kube/resources.h"

namespace kc::controller {

ClusterNodeMirror::ClusterNodeMirror(KubeApi& kube, const ObjectCache& cnodes,
                                     std::string default_ns)
    : kube_(kube),
      cnodes_(cnodes),
      default_ns_(std::move(default_ns)),
      log_(kc::log::get("controller")) {}

std::string ClusterNodeMirror::path_of(const Member& m) const {
  auto ns = m.tags.contains("namespace") ? m.tags.at("namespace") : default_ns_;
  if (ns.empty()) ns = default_ns_;
  return kube::clusternode_path(ns, clusternode_name(m.name));
}

void ClusterNodeMirror::forget(const std::string& member) {
  std::erase_if(written_, [&](const auto& w) { return w.second.member == member; });
}

void ClusterNodeMirror::remove(const std::string& member, const Done& done) {
  std::vector<std::string> keys;
  for (const auto& [key, obj] : cnodes_.items())
    if (obj.value("spec", nlohmann::json::object()).value("memberName", "") == member)
      keys.push_back(key);
  if (keys.empty()) return done(true);
  auto remaining = std::make_shared<size_t>(keys.size());
  auto all_ok = std::make_shared<bool>(true);
  for (const auto& key : keys) {
    auto slash = key.find('/');
    std::string ns = key.substr(0, slash);
    std::string name = key.substr(slash + 1);
    log_->info("deleting ClusterNode {}: member {} is gone", key, member);
    kube_.request("DELETE", kube::clusternode_path(ns, name), std::nullopt,
                  lifetime_.wrap([this, key, remaining, all_ok, done](const kube::Response& r) {
                    if (!r.ok() && !r.not_found()) {
                      log_->debug("deleting ClusterNode {}: {}", key, r.describe());
                      *all_ok = false;
                    }
                    if (--*remaining == 0) done(*all_ok);
                  }));
  }
}

void ClusterNodeMirror::upsert(const Member& m, const Done& done) {
  auto st = status_of(m);
  std::string ns = st.ns.empty() ? default_ns_ : st.ns;
  std::string name = clusternode_name(m.name);
  std::string key = ns + "/" + name;
  if (in_flight_.contains(key)) return done(true);  // another member's name maps to this key
  const nlohmann::json* existing = cnodes_.get(key);
  auto w = written_.find(key);
  if (existing && w != written_.end() && w->second == st) return done(true);
  nlohmann::json old_status =
      existing ? existing->value("status", nlohmann::json::object()) : nlohmann::json::object();
  std::string now = kube::format_time(std::chrono::system_clock::now());
  std::string transition = now;
  if (old_status.value("status", "") == st.status && old_status.contains("lastTransitionTime"))
    transition = old_status["lastTransitionTime"];
  nlohmann::json status = {{"memberName", st.member},
                           {"address", st.address},
                           {"status", st.status},
                           {"dc", st.dc},
                           {"zone", st.zone},
                           {"node", st.node},
                           {"pod", st.pod},
                           {"protocol", st.protocol},
                           {"lastTransitionTime", transition},
                           {"conditions",
                            {{{"type", "Alive"},
                              {"status", st.status == "alive" ? "True" : "False"},
                              {"reason", st.status.empty() ? "Unknown" : st.status},
                              {"lastTransitionTime", transition}}}}};
  if (st.incarnation) status["incarnation"] = *st.incarnation;
  if (existing) {
    auto cur = old_status;
    cur.erase("conditions");
    auto want = status;
    want.erase("conditions");
    if (cur == want) {
      written_[key] = st;
      return done(true);
    }
  }
  in_flight_.insert(key);
  auto patch_status = [this, ns, name, key, st, status, done]() {
    kube_.request("PATCH", kube::clusternode_path(ns, name) + "/status",
                  nlohmann::json{{"status", status}},
                  lifetime_.wrap([this, key, st, done](const kube::Response& r) {
                    in_flight_.erase(key);
                    if (r.ok()) {
                      written_[key] = st;
                    } else {
                      log_->debug("ClusterNode {} status: {}", key, r.describe());
                    }
                    done(r.ok());
                  }),
                  "application/merge-patch+json");
  };
  if (existing) {
    patch_status();
    return;
  }
  nlohmann::json obj = {
      {"apiVersion", std::string(kube::kClusterNodeGroup) + "/" + kube::kClusterNodeVersion},
      {"kind", kube::kClusterNodeKind},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"labels", {{"app.kubernetes.io/managed-by", kManagedBy}}}}},
      {"spec", {{"memberName", m.name}}}};
  kube_.request("POST", kube::clusternodes_path(ns), obj,
                lifetime_.wrap([this, key, patch_status, done](const kube::Response& r) {
                  if (r.ok() || r.conflict()) {
                    patch_status();
                  } else {
                    in_flight_.erase(key);
                    log_->warn("creating ClusterNode {} failed: {}", key, r.describe());
                    done(false);
                  }
                }));
}

}  // namespace kc::controller
