// Which members this operator acts on when one Kong cluster spans several Kubernetes clusters.
// Each agent carries its Kubernetes cluster's identity as the `k8s-cluster` tag; an operator
// prunes, mirrors as ClusterNodes and reconciles rows only for members of its own cluster, and
// leaves the others to their own cluster's operator (its apiserver does not know their pods,
// so they would all look like orphans here). Pure functions, unit-tested without servers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "operator/controller/mapping.h"

namespace kc::controller {

struct ClusterScope {
  std::string id;  // this operator's cluster identity (--cluster-id, else kube-system's uid)
  // Members with pod tags but no `k8s-cluster` tag (agents from before the tag existed) are
  // this cluster's: right for one cluster being upgraded, wrong once a second one joins.
  bool adopt_untagged = true;
};

// Whether `m` is this operator's to act on: its `k8s-cluster` tag equals scope.id; or it has
// no such tag and either no pod tags (a member outside Kubernetes, never pruned here) or
// adopt_untagged.
bool own_member(const Member& m, const ClusterScope& scope);

// `members` split into this operator's own and the number of foreign ones.
struct ScopedMembers {
  std::vector<Member> own;
  size_t foreign = 0;
};
ScopedMembers scope_members(std::vector<Member> members, const ClusterScope& scope);

}  // namespace kc::controller
