// Which members an operator acts on when one Kong cluster spans several Kubernetes clusters:
// its own cluster's (by the k8s-cluster tag), untagged Kubernetes members only when adopting
// them, members outside Kubernetes always (they are mirrored, never pruned).
#include "operator/controller/cluster_scope.h"

#include <gtest/gtest.h>

using namespace kc::controller;

namespace {

Member pod_member(const std::string& name, const std::string& cluster) {
  Member m;
  m.name = name;
  m.address = "10.0.0.1:7946";
  m.status = "alive";
  m.tags = {{"pod", name}, {"namespace", "kong"}, {"uid", "uid-" + name}};
  if (!cluster.empty()) m.tags["k8s-cluster"] = cluster;
  return m;
}

ClusterScope scope(const std::string& id, bool adopt) {
  ClusterScope s;
  s.id = id;
  s.adopt_untagged = adopt;
  return s;
}

}  // namespace

TEST(ClusterScope, OwnTagIsOwn) {
  EXPECT_TRUE(own_member(pod_member("a", "east"), scope("east", false)));
  EXPECT_TRUE(own_member(pod_member("a", "east"), scope("east", true)));
}

TEST(ClusterScope, AnotherClustersTagIsForeignWhateverAdoption) {
  EXPECT_FALSE(own_member(pod_member("a", "west"), scope("east", true)));
  EXPECT_FALSE(own_member(pod_member("a", "west"), scope("east", false)));
}

TEST(ClusterScope, TagComparisonIsExact) {
  EXPECT_FALSE(own_member(pod_member("a", "East"), scope("east", true)));
  EXPECT_FALSE(own_member(pod_member("a", "east "), scope("east", true)));
}

TEST(ClusterScope, UntaggedPodMemberFollowsAdoption) {
  EXPECT_TRUE(own_member(pod_member("a", ""), scope("east", true)));
  EXPECT_FALSE(own_member(pod_member("a", ""), scope("east", false)));
}

TEST(ClusterScope, EmptyTagValueIsATagOfNoCluster) {
  auto m = pod_member("a", "");
  m.tags["k8s-cluster"] = "";
  EXPECT_FALSE(own_member(m, scope("east", true)));
  // An operator without an identity never claims tagged members.
  EXPECT_FALSE(own_member(pod_member("b", "east"), scope("", true)));
}

TEST(ClusterScope, MemberOutsideKubernetesIsAlwaysOwn) {
  Member m;
  m.name = "vm-1";
  m.tags = {{"role", "kong"}};
  EXPECT_TRUE(own_member(m, scope("east", false)));
  EXPECT_TRUE(own_member(m, scope("east", true)));
}

TEST(ClusterScope, ScopeMembersSplitsAndCounts) {
  auto out = scope_members({pod_member("a", "east"), pod_member("b", "west"), pod_member("c", ""),
                            pod_member("d", "west")},
                           scope("east", true));
  ASSERT_EQ(out.own.size(), 2u);
  EXPECT_EQ(out.own[0].name, "a");
  EXPECT_EQ(out.own[1].name, "c");
  EXPECT_EQ(out.foreign, 2u);
}
