// End to end: agents with NODE_NAME and a kubeconfig read their Node from
// the real apiserver (kube_cluster.h) once at start-up. In modes pod, host, node-internal and
// node-external each advertises the address the mode names (checked by the members reaching each
// other and by /v1/members), with `dc` and `zone` from the Node's labels (label keys configurable,
// cluster_tags winning); a Node without the address the mode needs, or no Node at all, is a
// start-up error that names the Node and the mode.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/kube_objects.h"
#include "support/process.h"
#include "support/wait.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

struct AgentProc {
  std::string name;
  std::string bind;  // ip:port
  int http_port = 0;
  std::unique_ptr<Process> proc;
};

class AgentNode : public ::testing::Test {
 protected:
  void SetUp() override {
    KC_REQUIRE_CONTROL_PLANE();
    // Loopback addresses stand for the nodes' networks: all of 127/8 is bindable.
    put_node(
        {"worker-a",
         {{"topology.kubernetes.io/region", "dc-east"}, {"topology.kubernetes.io/zone", "east-1a"}},
         "127.0.0.11",
         "127.0.0.21"});
    put_node(
        {"worker-b",
         {{"topology.kubernetes.io/region", "dc-west"}, {"topology.kubernetes.io/zone", "west-1b"}},
         "127.0.0.12",
         "127.0.0.22"});
    // Labels under other keys, and no ExternalIP.
    put_node(
        {"worker-c", {{"example.com/dc", "dc-lab"}, {"example.com/rack", "rack-3"}}, "127.0.0.13"});
  }
  void TearDown() override {
    if (!HasFailure()) return;
    for (auto& a : agents_) std::printf("---- %s\n%s\n", a->name.c_str(), a->proc->log().c_str());
  }

  // An agent on `node` in `mode`, bound to `bind_ip` and a free port, joining `seed_` when
  // set. `env`: downward API and KONG_* beyond NODE_NAME; the kubeconfig is passed with
  // --kubeconfig unless `env` sets $KUBECONFIG.
  AgentProc& start(const std::string& name, const std::string& node, const std::string& mode,
                   const std::string& bind_ip, std::map<std::string, std::string> env = {},
                   const std::vector<std::string>& args = {}) {
    auto a = std::make_unique<AgentProc>();
    a->name = name;
    a->bind = bind_ip + ":" + std::to_string(free_port());
    a->http_port = free_port();
    std::vector<std::string> argv = {binary_dir() + "/bin/kong-cluster",
                                     "agent",
                                     "--node",
                                     name,
                                     "--bind",
                                     a->bind,
                                     "--rpc-addr",
                                     "127.0.0.1:" + std::to_string(free_port()),
                                     "--http-addr",
                                     "127.0.0.1:" + std::to_string(a->http_port),
                                     "--advertise-mode",
                                     mode,
                                     "--profile",
                                     "local"};
    env["NODE_NAME"] = node;
    if (!env.count("KUBECONFIG"))
      argv.insert(argv.end(), {"--kubeconfig", control_plane().kubeconfig()});
    if (!seed_.empty()) argv.insert(argv.end(), {"--join", seed_});
    argv.insert(argv.end(), args.begin(), args.end());
    a->proc = std::make_unique<Process>(argv, dir_.path() + "/" + name + ".log", env);
    agents_.push_back(std::move(a));
    return *agents_.back();
  }

  // name -> member object, from an agent's GET /v1/members.
  std::map<std::string, nlohmann::json> members(const AgentProc& a) {
    auto r = run_command(
        {"curl", "-s", "http://127.0.0.1:" + std::to_string(a.http_port) + "/v1/members"}, 5000);
    std::map<std::string, nlohmann::json> out;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return out;
    for (auto& m : j.value("members", nlohmann::json::array())) out[m.value("name", "")] = m;
    return out;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<AgentProc>> agents_;
  std::string seed_;  // gossip address the next agents join
};

std::string tag(const nlohmann::json& m, const char* key) {
  return m.value("tags", nlohmann::json::object()).value(key, "");
}

}  // namespace

TEST_F(AgentNode, EachModeAdvertisesItsAddressWithDcAndZoneFromTheNode) {
  // pod: $POD_IP, whatever the Node says; the tags still come from the Node.
  seed_ = start("agent-pod", "worker-a", "pod", "127.0.0.31", {{"POD_IP", "127.0.0.31"}}).bind;
  // host: $HOST_IP; an explicit zone tag wins over the Node's label.
  start("agent-host", "worker-b", "host", "127.0.0.32", {{"HOST_IP", "127.0.0.32"}},
        {"--tag", "zone=override"});
  // node-internal: the Node's InternalIP; dc and zone read under configured label keys.
  start("agent-internal", "worker-c", "node-internal", "127.0.0.13",
        {{"KONG_CLUSTER_DATACENTER_LABEL", "example.com/dc"},
         {"KONG_CLUSTER_ZONE_LABEL", "example.com/rack"}});
  // node-external: the Node's ExternalIP although bound to every address; the kubeconfig
  // from $KUBECONFIG this time.
  start("agent-external", "worker-b", "node-external", "0.0.0.0",
        {{"KUBECONFIG", control_plane().kubeconfig()}});

  struct Want {
    std::string ip, dc, zone;
  };
  std::map<std::string, Want> want = {{"agent-pod", {"127.0.0.31", "dc-east", "east-1a"}},
                                      {"agent-host", {"127.0.0.32", "dc-west", "override"}},
                                      {"agent-internal", {"127.0.0.13", "dc-lab", "rack-3"}},
                                      {"agent-external", {"127.0.0.22", "dc-west", "west-1b"}}};
  // Every agent sees all four alive: the advertised addresses are the reachable ones.
  std::map<std::string, nlohmann::json> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& a : agents_) {
          auto ms = members(*a);
          if (ms.size() != want.size()) return false;
          for (auto& [name, m] : ms)
            if (m.value("status", "") != "alive") return false;
          seen = ms;
        }
        return true;
      },
      30s))
      << "agents did not converge";
  for (auto& [name, w] : want) {
    ASSERT_TRUE(seen.count(name)) << name;
    auto& m = seen[name];
    EXPECT_EQ(m.value("addr", "").substr(0, m.value("addr", "").rfind(':')), w.ip) << m.dump();
    EXPECT_EQ(tag(m, "dc"), w.dc) << m.dump();
    EXPECT_EQ(tag(m, "zone"), w.zone) << m.dump();
  }
  EXPECT_EQ(tag(seen["agent-external"], "node"), "worker-b");
}

TEST_F(AgentNode, NoSuchAddressOrNoSuchNodeIsAClearStartupError) {
  auto& no_external = start("agent-x", "worker-c", "node-external", "127.0.0.1");
  EXPECT_EQ(no_external.proc->wait_exit(30000), 1);
  auto log = no_external.proc->log();
  EXPECT_NE(log.find("cluster_advertise_mode=node-external: Node \"worker-c\" has no ExternalIP"),
            std::string::npos)
      << log;

  auto& no_node = start("agent-y", "worker-gone", "node-internal", "127.0.0.1");
  EXPECT_EQ(no_node.proc->wait_exit(30000), 1);
  log = no_node.proc->log();
  EXPECT_NE(log.find("cluster_advertise_mode=node-internal: cannot read Node \"worker-gone\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("404"), std::string::npos) << log;

  // An explicit cluster_advertise wins over the mode: no ExternalIP needed then.
  auto& explicit_addr = start("agent-z", "worker-c", "node-external", "127.0.0.14", {},
                              {"--advertise", "127.0.0.14:0"});
  ASSERT_TRUE(wait_until([&] { return members(explicit_addr).count("agent-z") == 1; }, 15s));
  auto m = members(explicit_addr)["agent-z"];
  EXPECT_EQ(m.value("addr", "").rfind("127.0.0.14:", 0), 0u) << m.dump();
  EXPECT_EQ(tag(m, "dc"), "");  // worker-c has no topology.kubernetes.io/region label
}
