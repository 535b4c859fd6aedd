// The agent's own Node: Node labels → dc/zone tags (label keys configurable,
// cluster_tags win), the address per advertise mode (node-internal / node-external, explicit
// cluster_advertise wins, clear errors naming the Node and the mode), when the Node is read,
// and how a lookup that cannot happen fails.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "agent/advertise.h"
#include "agent/agent_config.h"
#include "agent/node_lookup.h"
#include "support/process.h"

using namespace kc::agent;
using kc::kube::NodeTopology;

namespace {

nlohmann::json node_json(std::map<std::string, std::string> labels, const std::string& internal,
                         const std::string& external) {
  nlohmann::json addrs = nlohmann::json::array();
  if (!internal.empty()) addrs.push_back({{"type", "InternalIP"}, {"address", internal}});
  if (!external.empty()) addrs.push_back({{"type", "ExternalIP"}, {"address", external}});
  addrs.push_back({{"type", "Hostname"}, {"address", "worker-1"}});
  return {{"metadata", {{"name", "worker-1"}, {"labels", labels}}},
          {"status", {{"addresses", addrs}}}};
}

std::string what_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Environment variables a test sets, restored (unset) when it ends.
class Env {
 public:
  ~Env() {
    for (auto& n : names_) unsetenv(n.c_str());
  }
  void set(const std::string& name, const std::string& value) {
    names_.push_back(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) { unsetenv(name.c_str()); }

 private:
  std::vector<std::string> names_;
};

const auto kBound = kc::gossip::Address::parse("0.0.0.0:7946");

// A kubeconfig whose server is a free loopback port nothing listens on.
std::string unreachable_kubeconfig(const kc::test::TempDir& dir) {
  std::string path = dir.path() + "/kubeconfig";
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                         "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:"
                      << kc::test::free_port()
                      << "'}}]\n"
                         "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                         "users: [{name: u, user: {token: t}}]\n";
  return path;
}

}  // namespace

TEST(NodeTags, RegionAndZoneLabelsBecomeDcAndZone) {
  AgentConfig c;
  auto t = kc::kube::topology_of(node_json({{"topology.kubernetes.io/region", "eu-west"},
                                            {"topology.kubernetes.io/zone", "eu-west-1a"}},
                                           "10.0.0.5", ""),
                                 {c.datacenter_label, c.zone_label});
  EXPECT_EQ(t.name, "worker-1");
  auto tags = member_tags(c, &t);
  EXPECT_EQ(tags.at("dc"), "eu-west");
  EXPECT_EQ(tags.at("zone"), "eu-west-1a");
}

TEST(NodeTags, LabelKeysAreConfigurable) {
  kc::config::Settings s(agent_keys(), kong_foreign_keys(), kong_foreign_prefixes());
  s.load_env([](const char* name) -> const char* {
    std::string n = name;
    if (n == "KONG_CLUSTER_DATACENTER_LABEL") return "example.com/dc";
    if (n == "KONG_CLUSTER_ZONE_LABEL") return "example.com/rack";
    return nullptr;
  });
  auto c = agent_config_from(s);
  EXPECT_EQ(c.datacenter_label, "example.com/dc");
  EXPECT_EQ(c.zone_label, "example.com/rack");
  auto t = kc::kube::topology_of(node_json({{"topology.kubernetes.io/region", "ignored"},
                                            {"example.com/dc", "dc2"},
                                            {"example.com/rack", "r7"}},
                                           "10.0.0.5", ""),
                                 {c.datacenter_label, c.zone_label});
  auto tags = member_tags(c, &t);
  EXPECT_EQ(tags.at("dc"), "dc2");
  EXPECT_EQ(tags.at("zone"), "r7");
  // A bad key is reported with its key and source.
  try {
    s.set("cluster_zone_label", "a b", "env KONG_CLUSTER_ZONE_LABEL");
    FAIL() << "accepted a label key with a blank";
  } catch (const kc::config::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cluster_zone_label"), std::string::npos) << what;
    EXPECT_NE(what.find("env KONG_CLUSTER_ZONE_LABEL"), std::string::npos) << what;
  }
}

TEST(NodeTags, ExplicitTagsWinAndMissingLabelsAddNothing) {
  Env env;
  env.set("NODE_NAME", "worker-1");
  AgentConfig c;
  c.tags = {{"zone", "mine"}, {"role", "kong"}};
  auto t = kc::kube::topology_of(node_json(
      {{"topology.kubernetes.io/region", "eu-west"}, {"topology.kubernetes.io/zone", "eu-west-1a"}},
      "10.0.0.5", ""));
  auto tags = member_tags(c, &t);
  EXPECT_EQ(tags.at("dc"), "eu-west");
  EXPECT_EQ(tags.at("zone"), "mine");
  EXPECT_EQ(tags.at("role"), "kong");
  EXPECT_EQ(tags.at("node"), "worker-1");  // downward API, as before
  auto bare = kc::kube::topology_of(node_json({}, "10.0.0.5", ""));
  tags = member_tags(AgentConfig{}, &bare);
  EXPECT_EQ(tags.count("dc"), 0u);
  EXPECT_EQ(tags.count("zone"), 0u);
  EXPECT_EQ(member_tags(AgentConfig{}, nullptr).count("dc"), 0u);
}

TEST(NodeAdvertise, InternalAndExternalAddresses) {
  auto t = kc::kube::topology_of(node_json({}, "10.0.0.5", "203.0.113.9"));
  AgentConfig c;
  c.advertise_mode = "node-internal";
  EXPECT_EQ(choose_advertise(c, kBound, &t).to_string(), "10.0.0.5:7946");
  c.advertise_mode = "node-external";
  EXPECT_EQ(choose_advertise(c, kBound, &t).to_string(), "203.0.113.9:7946");
  // cluster_advertise still wins.
  c.advertise = "198.51.100.1:8000";
  EXPECT_EQ(choose_advertise(c, kBound, &t).to_string(), "198.51.100.1:8000");
}

TEST(NodeAdvertise, MissingAddressOrNodeIsAnErrorNamingNodeAndMode) {
  auto t = kc::kube::topology_of(node_json({}, "10.0.0.5", ""));
  AgentConfig c;
  c.advertise_mode = "node-external";
  auto e = what_of([&] { choose_advertise(c, kBound, &t); });
  EXPECT_NE(e.find("node-external"), std::string::npos) << e;
  EXPECT_NE(e.find("\"worker-1\" has no ExternalIP"), std::string::npos) << e;
  c.advertise_mode = "node-internal";
  auto none = kc::kube::topology_of(node_json({}, "", ""));
  e = what_of([&] { choose_advertise(c, kBound, &none); });
  EXPECT_NE(e.find("\"worker-1\" has no InternalIP"), std::string::npos) << e;
  e = what_of([&] { choose_advertise(c, kBound, nullptr); });
  EXPECT_NE(e.find("node-internal needs this agent's Node"), std::string::npos) << e;
}

TEST(NodeAdvertise, OtherModesIgnoreTheNode) {
  Env env;
  env.set("POD_IP", "10.9.9.9");
  env.set("HOST_IP", "10.8.8.8");
  auto t = kc::kube::topology_of(node_json({}, "10.0.0.5", "203.0.113.9"));
  AgentConfig c;
  c.advertise_mode = "pod";
  EXPECT_EQ(choose_advertise(c, kBound, &t).to_string(), "10.9.9.9:7946");
  c.advertise_mode = "host";
  EXPECT_EQ(choose_advertise(c, kBound, &t).to_string(), "10.8.8.8:7946");
  c.advertise_mode = "auto";
  EXPECT_EQ(choose_advertise(c, kc::gossip::Address::parse("127.0.0.3:7000"), &t).to_string(),
            "127.0.0.3:7000");
}

TEST(NodeLookup, WhenTheNodeIsNeeded) {
  AgentConfig c;
  EXPECT_EQ(node_need(c), NodeNeed::Optional);
  c.tags = {{"dc", "a"}};
  EXPECT_EQ(node_need(c), NodeNeed::Optional);
  c.tags["zone"] = "b";
  EXPECT_EQ(node_need(c), NodeNeed::None);
  c.advertise_mode = "node-external";
  EXPECT_EQ(node_need(c), NodeNeed::Required);
  c.advertise = "10.0.0.1:7946";
  EXPECT_EQ(node_need(c), NodeNeed::None);
  c.tags.clear();
  EXPECT_EQ(node_need(c), NodeNeed::Optional);
}

TEST(NodeLookup, WithoutNodeNameOrConfigurationOptionalIsSkippedRequiredFails) {
  Env env;
  env.unset("NODE_NAME");
  env.unset("KUBECONFIG");
  env.unset("KUBERNETES_SERVICE_HOST");
  AgentConfig c;
  EXPECT_FALSE(lookup_own_node(c));
  c.advertise_mode = "node-internal";
  auto e = what_of([&] { lookup_own_node(c); });
  EXPECT_NE(e.find("cluster_advertise_mode=node-internal"), std::string::npos) << e;
  EXPECT_NE(e.find("$NODE_NAME is not set"), std::string::npos) << e;
  env.set("NODE_NAME", "worker-9");
  e = what_of([&] { lookup_own_node(c); });
  EXPECT_NE(e.find("no Kubernetes configuration to read Node \"worker-9\""), std::string::npos)
      << e;
  c.advertise_mode = "pod";
  EXPECT_FALSE(lookup_own_node(c));
}

TEST(NodeLookup, UnreachableApiIsRetriedThenReported) {
  kc::test::TempDir dir;
  std::string kubeconfig = unreachable_kubeconfig(dir);
  Env env;
  env.set("NODE_NAME", "worker-9");
  AgentConfig c;
  c.kubeconfig = kubeconfig;
  c.advertise_mode = "node-external";
  NodeLookupOptions o;
  o.attempts = 2;
  o.request_timeout = std::chrono::seconds(2);
  o.first_backoff = std::chrono::milliseconds(10);
  auto e = what_of([&] { lookup_own_node(c, o); });
  EXPECT_NE(e.find("node-external: cannot read Node \"worker-9\" from http://127.0.0.1:"),
            std::string::npos)
      << e;
  // Optional (tags only): a warning, and the agent goes on without them.
  c.advertise_mode = "auto";
  EXPECT_FALSE(lookup_own_node(c, o));
}

TEST(ClusterIdTag, SetIdBecomesTheTagAndExplicitTagsStillWin) {
  AgentConfig c;
  auto tags = member_tags(c, nullptr, "cluster-uid-1");
  EXPECT_EQ(tags["k8s-cluster"], "cluster-uid-1");
  EXPECT_EQ(member_tags(c, nullptr, "").count("k8s-cluster"), 0u);
  c.tags["k8s-cluster"] = "by-hand";
  EXPECT_EQ(member_tags(c, nullptr, "cluster-uid-1")["k8s-cluster"], "by-hand");
}

TEST(ClusterIdTag, ConfiguredIdWinsAndOutsideAPodThereIsNone) {
  Env env;
  env.unset("POD_NAME");
  env.unset("NODE_NAME");
  AgentConfig c;
  EXPECT_EQ(resolve_cluster_id(c), "");
  c.k8s_cluster_id = "dc-east";
  EXPECT_EQ(resolve_cluster_id(c), "dc-east");
}

TEST(ClusterIdTag, UnreadableNamespaceLeavesTheTagOff) {
  kc::test::TempDir dir;
  std::string kubeconfig = unreachable_kubeconfig(dir);
  Env env;
  env.set("POD_NAME", "agent-1");
  AgentConfig c;
  c.kubeconfig = kubeconfig;
  kc::kube::ClusterIdLookup o;
  o.attempts = 2;
  o.request_timeout = std::chrono::milliseconds(500);
  o.first_backoff = std::chrono::milliseconds(10);
  EXPECT_EQ(resolve_cluster_id(c, o), "");
}
