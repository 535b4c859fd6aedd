// The rules that decide which member is which pod's and what may be pruned.
#include "operator/controller/mapping.h"

#include <gtest/gtest.h>

#include "operator/controller/incarnations.h"

using namespace kc::controller;
using kc::kube::PodView;

namespace {
PodView pod(const std::string& name, const std::string& uid) {
  PodView p;
  p.ns = "kong";
  p.name = name;
  p.uid = uid;
  p.phase = "Running";
  p.ready = true;
  return p;
}
Member member(std::map<std::string, std::string> tags) {
  Member m;
  m.name = "kong-a";
  m.tags = std::move(tags);
  return m;
}
}  // namespace

TEST(Mapping, UidTagWinsOverNames) {
  auto m = member({{"uid", "u1"}, {"pod", "agent-0"}, {"namespace", "kong"}});
  EXPECT_TRUE(member_of_pod(m, pod("agent-0", "u1")));
  // Same name, new pod (a StatefulSet-style re-creation): not this member.
  EXPECT_FALSE(member_of_pod(m, pod("agent-0", "u2")));
}

TEST(Mapping, PodAndNamespaceWithoutUid) {
  auto m = member({{"pod", "agent-0"}, {"namespace", "kong"}});
  EXPECT_TRUE(member_of_pod(m, pod("agent-0", "anything")));
  auto other_ns = pod("agent-0", "x");
  other_ns.ns = "default";
  EXPECT_FALSE(member_of_pod(m, other_ns));
}

TEST(Mapping, NeverByMemberName) {
  Member m;
  m.name = "agent-0";  // same as the pod's name, but no tags
  EXPECT_FALSE(member_of_pod(m, pod("agent-0", "u1")));
  EXPECT_FALSE(has_pod_tags(m));
}

TEST(Mapping, ProtectedPods) {
  auto p = pod("a", "u");
  EXPECT_TRUE(pod_protected(p, true));
  EXPECT_FALSE(pod_protected(p, false));  // its node is NotReady
  p.deleting = true;
  EXPECT_FALSE(pod_protected(p, true));
  p = pod("a", "u");
  p.ready = false;
  EXPECT_FALSE(pod_protected(p, true));
  p = pod("a", "u");
  p.phase = "Failed";
  EXPECT_FALSE(pod_protected(p, true));
}

TEST(Mapping, ClusterNodeNames) {
  EXPECT_EQ(clusternode_name("agent-0"), "agent-0");
  EXPECT_EQ(clusternode_name("Kong_Node:7946"), "kong-node-7946");
  EXPECT_EQ(clusternode_name("_x_"), "x");
  EXPECT_EQ(clusternode_name("___"), "member");
  EXPECT_EQ(clusternode_name(std::string(300, 'a')).size(), 253u);
}

TEST(Mapping, StatusFromTags) {
  Member m = member(
      {{"dc", "eu"}, {"zone", "eu-1a"}, {"node", "w1"}, {"pod", "p"}, {"namespace", "kong"}});
  m.address = "10.0.0.1:7946";
  m.status = "alive";
  m.protocol = 5;
  auto s = status_of(m);
  EXPECT_EQ(s.dc, "eu");
  EXPECT_EQ(s.zone, "eu-1a");
  EXPECT_EQ(s.node, "w1");
  EXPECT_EQ(s.pod, "p");
  EXPECT_EQ(s.ns, "kong");
  EXPECT_EQ(s.address, "10.0.0.1:7946");
  EXPECT_EQ(s.protocol, 5);
  EXPECT_FALSE(s.incarnation);
  m.incarnation = 7;
  EXPECT_EQ(status_of(m).incarnation, 7u);
  EXPECT_NE(status_of(m), s);  // a new incarnation is a status change to write
}

TEST(Mapping, IncarnationsFromTheAgentsMemberList) {
  auto got = parse_incarnations(
      R"({"members":[{"name":"a","incarnation":3,"addr":"10.0.0.1:7946"},{"name":"b"},
        {"name":"c","incarnation":-1},{"incarnation":4}],"total":4})");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (std::map<std::string, uint64_t>{{"a", 3}}));
  EXPECT_FALSE(parse_incarnations("not json"));
  EXPECT_FALSE(parse_incarnations(R"({"data":[]})"));
}
