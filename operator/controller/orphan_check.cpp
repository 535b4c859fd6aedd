#include "operator/controller/orphan_check.h"

#include "kube/resources.h"

namespace kc::controller {

OrphanCheck::OrphanCheck(KubeApi& kube, std::string watched_ns)
    : kube_(kube), ns_(std::move(watched_ns)) {}

void OrphanCheck::check(const Member& m, std::function<void()> gone) {
  auto tag = [&](const char* k) {
    auto it = m.tags.find(k);
    return it == m.tags.end() ? std::string() : it->second;
  };
  std::string ns = tag("namespace");
  std::string pod = tag("pod");
  std::string uid = tag("uid");
  if (ns.empty() || pod.empty()) return;  // only a uid: no way to GET it; leave it alone
  if (!ns_.empty() && ns != ns_) return;  // outside what we watch
  if (!running_.insert(m.name).second) return;
  kube_.get(
      kube::pod_path(ns, pod),
      lifetime_.wrap([this, name = m.name, uid, gone = std::move(gone)](const kube::Response& r) {
        running_.erase(name);
        bool absent =
            r.not_found() || (r.ok() && !uid.empty() && kube::pod_view(r.body).uid != uid);
        if (absent) gone();
      }));
}

}  // namespace kc::controller
