// ClusterNode objects mirroring the members: one per member (in its pod's namespace, else
// the default one), created when missing, status patched only when what it shows changed.
// Keyed by "namespace/name" of the ClusterNode; at most one write in flight per key. What to
// write and when is ClusterNodeReconciler's (clusternode_reconciler.h); this is how.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/lifetime.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/mapping.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

// The label value (app.kubernetes.io/managed-by) of the ClusterNodes the operator writes, and
// the source of its Events.
inline constexpr const char* kManagedBy = "kong-cluster-operator";

class ClusterNodeMirror {
 public:
  // `cnodes` is the cache of the ClusterNodes labelled kManagedBy.
  ClusterNodeMirror(KubeApi& kube, const ObjectCache& cnodes, std::string default_ns);

  // `ok`: the write succeeded or nothing needed writing; false: a failure worth a retry.
  using Done = std::function<void(bool ok)>;

  // Creates `m`'s ClusterNode, or patches its status when it differs from `m`.
  void upsert(const Member& m, const Done& done);
  // The path of the ClusterNode of member `m`.
  std::string path_of(const Member& m) const;
  // Forgets what was written for `member`, whose ClusterNode was deleted.
  void forget(const std::string& member);
  // Deletes every cached ClusterNode of `member` (gone from gossip).
  void remove(const std::string& member, const Done& done);

 private:
  KubeApi& kube_;
  const ObjectCache& cnodes_;
  std::string default_ns_;
  std::shared_ptr<spdlog::logger> log_;
  std::set<std::string> in_flight_;
  std::map<std::string, MemberStatus> written_;  // last status written per ClusterNode key
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
