// Which pods are agents, and the address and corroboration rules that keep one agent's word
// (or a look-alike pod's) from pruning a live member.
#include "operator/controller/trust.h"

#include <gtest/gtest.h>

using namespace kc::controller;
using kc::kube::ControllerRef;
using kc::kube::PodView;

namespace {

AgentIdentity identity() {
  AgentIdentity id;
  id.ns = "kong";
  id.daemonset = "kong-cluster-agent";
  id.daemonset_uid = "ds-uid-1";
  id.service_account = "kong-cluster-agent";
  return id;
}

PodView agent_pod(const std::string& name, const std::string& ip, int gossip_port) {
  PodView p;
  p.ns = "kong";
  p.name = name;
  p.uid = "uid-" + name;
  p.phase = "Running";
  p.ready = true;
  p.ip = ip;
  p.host_ip = "10.0.0.1";
  p.gossip_port = gossip_port;
  p.service_account = "kong-cluster-agent";
  p.owner = ControllerRef{"apps/v1", "DaemonSet", "kong-cluster-agent", "ds-uid-1"};
  return p;
}

Member member(const std::string& name, const std::string& address,
              const std::string& status = "alive", std::map<std::string, std::string> tags = {}) {
  Member m;
  m.name = name;
  m.address = address;
  m.status = status;
  m.tags = std::move(tags);
  return m;
}

}  // namespace

TEST(Trust, OnlyTheDaemonSetsOwnPodsUnderItsAccount) {
  auto id = identity();
  EXPECT_TRUE(verified_agent(agent_pod("a", "10.1.0.5", 7946), id));

  auto p = agent_pod("a", "10.1.0.5", 7946);
  p.owner.reset();  // only the labels
  EXPECT_FALSE(verified_agent(p, id));

  p = agent_pod("a", "10.1.0.5", 7946);
  p.owner->uid = "another-uid";         // a DaemonSet of the same name, deleted and created again,
  EXPECT_FALSE(verified_agent(p, id));  // or a forged reference

  p = agent_pod("a", "10.1.0.5", 7946);
  p.owner->kind = "ReplicaSet";
  EXPECT_FALSE(verified_agent(p, id));

  p = agent_pod("a", "10.1.0.5", 7946);
  p.owner->api_version = "extensions/v1beta1";
  EXPECT_FALSE(verified_agent(p, id));

  p = agent_pod("a", "10.1.0.5", 7946);
  p.owner->name = "other-agent";
  EXPECT_FALSE(verified_agent(p, id));

  p = agent_pod("a", "10.1.0.5", 7946);
  p.service_account = "default";
  EXPECT_FALSE(verified_agent(p, id));

  p = agent_pod("a", "10.1.0.5", 7946);
  p.ns = "elsewhere";
  EXPECT_FALSE(verified_agent(p, id));
}

TEST(Trust, NobodyWhileTheDaemonSetIsUnknownUnlessTrustingTheSelector) {
  auto id = identity();
  id.daemonset_uid.clear();
  EXPECT_FALSE(verified_agent(agent_pod("a", "10.1.0.5", 7946), id));
  id.trust_selector = true;
  PodView bare;
  EXPECT_TRUE(verified_agent(bare, id));
}

TEST(Trust, AccountNotCheckedWhenNotConfigured) {
  auto id = identity();
  id.service_account.clear();
  auto p = agent_pod("a", "10.1.0.5", 7946);
  p.service_account = "default";
  EXPECT_TRUE(verified_agent(p, id));
}

TEST(Trust, MemberAtPodByPodOrHostAddressAndGossipPort) {
  auto p = agent_pod("a", "10.1.0.5", 7946);
  EXPECT_TRUE(member_at_pod(member("m", "10.1.0.5:7946"), p));
  EXPECT_TRUE(member_at_pod(member("m", "10.0.0.1:7946"), p));  // node-internal advertise
  EXPECT_FALSE(member_at_pod(member("m", "10.1.0.5:7947"), p));
  EXPECT_FALSE(member_at_pod(member("m", "10.1.0.6:7946"), p));
  EXPECT_FALSE(member_at_pod(member("m", "garbage"), p));
  EXPECT_FALSE(member_at_pod(member("m", "10.1.0.5:"), p));
  EXPECT_FALSE(member_at_pod(member("m", "10.1.0.5:99999999999"), p));
  p.gossip_port.reset();  // no port named: any port at the address
  EXPECT_TRUE(member_at_pod(member("m", "10.1.0.5:1234"), p));
  auto v6 = agent_pod("b", "fd00::5", 7946);
  EXPECT_TRUE(member_at_pod(member("m", "[fd00::5]:7946"), v6));
}

TEST(Trust, LiveAgentAddressProtectsWhateverTheTagsSay) {
  std::vector<PodView> live = {agent_pod("a", "10.1.0.5", 7946)};
  // A forged report: the real member's address, a ghost pod's tags.
  auto forged =
      member("kong-a", "10.1.0.5:7946", "alive", {{"pod", "ghost"}, {"namespace", "kong"}});
  std::map<std::string, Member> members = {{"kong-a", forged}};
  EXPECT_TRUE(address_protected(forged, live, members));
  // Not at a live agent's address: not protected by this rule.
  auto elsewhere = member("kong-b", "10.1.0.9:7946", "failed");
  EXPECT_FALSE(address_protected(elsewhere, live, members));
  EXPECT_FALSE(address_protected(forged, {}, members));
}

TEST(Trust, AddressTakenOverByANewMemberNoLongerProtectsTheOldOne) {
  // node-internal advertise: the DaemonSet's new pod on the same node gossips from the same
  // address under a new name; the old, failed member there may be pruned.
  std::vector<PodView> live = {agent_pod("new", "10.1.0.7", 7946)};
  auto old_member = member("kong-old", "10.0.0.1:7946", "failed");
  auto new_member = member("kong-new", "10.0.0.1:7946", "alive");
  std::map<std::string, Member> members = {{"kong-old", old_member}, {"kong-new", new_member}};
  EXPECT_FALSE(address_protected(old_member, live, members));
  EXPECT_TRUE(address_protected(new_member, live, members));
}

TEST(Trust, ReportsAgreeOnAddressAndPodTagsOnly) {
  auto a = member("m", "10.1.0.5:7946", "alive", {{"uid", "u1"}, {"pod", "p"}, {"namespace", "n"}});
  auto b = a;
  b.status = "failed";         // status is judged by the caller, per reason
  b.tags["dc"] = "elsewhere";  // other tags do not matter to the prune rules
  EXPECT_TRUE(reports_agree(a, b));
  b = a;
  b.tags["uid"] = "u2";
  EXPECT_FALSE(reports_agree(a, b));
  b = a;
  b.tags.erase("pod");
  EXPECT_FALSE(reports_agree(a, b));
  b = a;
  b.address = "10.1.0.6:7946";
  EXPECT_FALSE(reports_agree(a, b));
}
