#include "operator/controller/cluster_scope.h"

#include "kube/cluster_id.h"

namespace kc::controller {

bool own_member(const Member& m, const ClusterScope& scope) {
  auto tag = m.tags.find(kube::kClusterIdTag);
  if (tag != m.tags.end()) return !scope.id.empty() && tag->second == scope.id;
  return !has_pod_tags(m) || scope.adopt_untagged;
}

ScopedMembers scope_members(std::vector<Member> members, const ClusterScope& scope) {
  ScopedMembers out;
  for (auto& m : members) {
    if (own_member(m, scope)) {
      out.own.push_back(std::move(m));
    } else {
      ++out.foreign;
    }
  }
  return out;
}

}  // namespace kc::controller
