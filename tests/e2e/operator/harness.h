// End-to-end harness for the operator: the real apiserver (kube_cluster.h, one per test
// binary; each Cluster works in a namespace of its own), a real Postgres, real agents running
// as "pods" (pod objects the test reports Running and Ready, as a kubelet would; the agent
// processes get the downward-API env), and operator replicas, all processes on loopback stopped
// by PID. Helpers read the state each side keeps: gossip (serf members over each agent's RPC),
// the nodes table (psql), Kubernetes (the API over TLS, kubectl for what users see).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/kube_objects.h"
#include "support/postgres_fixture.h"
#include "support/process.h"
#include "support/wait.h"

namespace kc::test::e2e {

// An agent "pod": the pod object on the apiserver and the agent process with the downward-API env.
struct AgentPod {
  std::string name, uid, node;
  int gossip_port = 0, rpc_port = 0, http_port = 0;
  std::unique_ptr<Process> proc;
  std::string rpc_addr() const { return "127.0.0.1:" + std::to_string(rpc_port); }
  std::string gossip_addr() const { return "127.0.0.1:" + std::to_string(gossip_port); }
};

inline const char* kSelector = "app.kubernetes.io/name=kong-cluster";
// The agent DaemonSet and ServiceAccount (no DaemonSet controller runs: the tests create its
// pods, with the owner reference the controller would set).
inline const char* kAgentDaemonSet = "kong-cluster-agent";
inline const char* kAgentServiceAccount = "kong-cluster-agent";

// How a pod relates to the agent DaemonSet: its own, or a look-alike.
enum class Ownership {
  DaemonSet,     // controller reference to the DaemonSet (name and uid), its ServiceAccount
  None,          // only the labels
  WrongUid,      // names the DaemonSet but with another uid
  WrongAccount,  // owned, but under another ServiceAccount
};

// name -> status as the agent at `rpc` sees the cluster; nullopt when it does not answer.
// `auth`: the agents' RPC token, when they require one.
inline std::optional<std::map<std::string, std::string>> members_of(const std::string& rpc,
                                                                    const std::string& auth = "") {
  std::vector<std::string> argv = {"serf", "members", "-format=json", "-rpc-addr=" + rpc};
  if (!auth.empty()) argv.push_back("-rpc-auth=" + auth);
  auto r = run_command(argv, 10000);
  if (r.exit_code != 0) return std::nullopt;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  std::map<std::string, std::string> out;
  for (auto& m : j.value("members", nlohmann::json::array()))
    out[m.value("name", "")] = m.value("status", "");
  return out;
}

class Cluster {
 public:
  Cluster() : kube_(control_plane()) {
    pg_ = std::make_unique<PostgresFixture>();
    db_ = pg_->create_database("op");
    ns_ = fresh_namespace();
    put_node(
        {"worker-1",
         {{"topology.kubernetes.io/region", "dc1"}, {"topology.kubernetes.io/zone", "dc1-a"}}});
    put_node(
        {"worker-2",
         {{"topology.kubernetes.io/region", "dc1"}, {"topology.kubernetes.io/zone", "dc1-b"}}});
    auto r = kube_.kubectl({"apply", "-f", source_dir() + "/manifests/crd/clusternodes.yaml"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    r = kube_.kubectl({"wait", "--for=condition=Established", "--timeout=60s",
                       "crd/clusternodes.kongcluster.dev"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    create_service_account(ns_, kAgentServiceAccount);
    nlohmann::json match = {{"app.kubernetes.io/name", "kong-cluster"}};
    auto ds = kube_.request(
        "POST", "/apis/apps/v1/namespaces/" + ns_ + "/daemonsets",
        {{"apiVersion", "apps/v1"},
         {"kind", "DaemonSet"},
         {"metadata", {{"name", kAgentDaemonSet}}},
         {"spec",
          {{"selector", {{"matchLabels", match}}},
           {"template",
            {{"metadata", {{"labels", match}}},
             {"spec",
              {{"serviceAccountName", kAgentServiceAccount},
               {"containers", {{{"name", "agent"}, {"image", "kong-cluster/agent:test"}}}}}}}}}}});
    expect_code(ds, 201, "creating the agent DaemonSet");
    ds_uid_ = ds.body.is_object() ? ds.body["metadata"].value("uid", "") : "";
    EXPECT_FALSE(ds_uid_.empty());
  }
  // The operator's ClusterNode informer spans every namespace: leave none behind for the
  // binary's next test.
  ~Cluster() { kube_.request("DELETE", clusternodes_path()); }

  KubeControlPlane& kube() { return kube_; }
  const std::string& ns() const { return ns_; }
  PostgresFixture& pg() { return *pg_; }
  const TempDir& dir() const { return dir_; }

  // Agents started from now on require this RPC token; operators get it in --rpc-auth-file.
  void require_rpc_auth(const std::string& token) { rpc_auth_ = token; }
  const std::string& rpc_auth() const { return rpc_auth_; }

  std::map<std::string, std::string> pg_env() const {
    return {{"KONG_PG_HOST", pg_->host()},
            {"KONG_PG_PORT", std::to_string(pg_->port())},
            {"KONG_PG_USER", pg_->user()},
            {"KONG_PG_DATABASE", db_}};
  }

  // A Running, Ready pod with the agents' labels and ports on 127.0.0.1; returns its uid.
  std::string create_pod(const std::string& name, const std::string& node, int rpc_port,
                         int gossip_port, int http_port, Ownership owner = Ownership::DaemonSet) {
    nlohmann::json ref = {{"apiVersion", "apps/v1"}, {"kind", "DaemonSet"},
                          {"name", kAgentDaemonSet}, {"uid", ds_uid_},
                          {"controller", true},      {"blockOwnerDeletion", true}};
    if (owner == Ownership::WrongUid) ref["uid"] = "00000000-0000-4000-8000-000000000000";
    PodSpec p;
    p.ns = ns_;
    p.name = name;
    p.node = node;
    p.labels = {{"app.kubernetes.io/name", "kong-cluster"}};
    p.ports = {{"rpc", rpc_port}, {"serflan", gossip_port}, {"http", http_port}};
    p.service_account = owner == Ownership::WrongAccount ? "default" : kAgentServiceAccount;
    if (owner != Ownership::None) p.owner_references = nlohmann::json::array({ref});
    auto pod = kc::test::e2e::create_pod(p);
    if (!pod.is_object()) return "";
    set_pod_running(ns_, name, "127.0.0.1");
    std::string uid = pod["metadata"].value("uid", "");
    EXPECT_FALSE(uid.empty()) << pod.dump();
    return uid;
  }
  // Pod deletion (kube_objects.h's delete_pod) and the Failed phase, in this namespace.
  void delete_pod(const std::string& name, int grace_seconds = 0) {
    kc::test::e2e::delete_pod(ns_, name, grace_seconds);
  }
  void fail_pod(const std::string& name) { set_pod_failed(ns_, name); }

  AgentPod& add_agent(const std::string& name, const std::string& node = "worker-1") {
    auto a = std::make_unique<AgentPod>();
    a->name = name;
    a->node = node;
    a->gossip_port = free_port();
    a->rpc_port = free_port();
    a->http_port = free_port();
    a->uid = create_pod(name, node, a->rpc_port, a->gossip_port, a->http_port);
    std::vector<std::string> argv = {binary_dir() + "/bin/kong-cluster",
                                     "agent",
                                     "--node",
                                     name,
                                     "--bind",
                                     a->gossip_addr(),
                                     "--rpc-addr",
                                     a->rpc_addr(),
                                     "--http-addr",
                                     "127.0.0.1:" + std::to_string(a->http_port),
                                     "--kubeconfig",
                                     kube_.kubeconfig(),
                                     "--profile",
                                     "lan"};
    if (!rpc_auth_.empty()) argv.insert(argv.end(), {"--rpc-auth", rpc_auth_});
    if (!agents_.empty()) argv.insert(argv.end(), {"--join", agents_.front()->gossip_addr()});
    auto env = pg_env();
    env["POD_NAME"] = name;
    env["POD_NAMESPACE"] = ns_;
    env["POD_UID"] = a->uid;
    env["NODE_NAME"] = node;
    a->proc = std::make_unique<Process>(argv, dir_.path() + "/" + name + ".log", env);
    agents_.push_back(std::move(a));
    return *agents_.back();
  }

  std::unique_ptr<Process> start_operator(const std::string& identity, int metrics_port,
                                          const std::string& failed_grace = "3s") {
    std::vector<std::string> argv = {binary_dir() + "/bin/kong-cluster-operator",
                                     "--kubeconfig",
                                     kube_.kubeconfig(),
                                     "--namespace",
                                     ns_,
                                     "--selector",
                                     kSelector,
                                     "--leader-elect",
                                     "--lease-namespace",
                                     ns_,
                                     "--identity",
                                     identity,
                                     "--metrics-addr",
                                     "127.0.0.1:" + std::to_string(metrics_port),
                                     "--health-addr",
                                     "127.0.0.1:" + std::to_string(metrics_port),
                                     "--failed-grace",
                                     failed_grace,
                                     "--resync",
                                     "5s",
                                     "--log-level",
                                     "debug",
                                     "--agent-daemonset",
                                     kAgentDaemonSet,
                                     "--agent-service-account",
                                     kAgentServiceAccount};
    if (!rpc_auth_.empty()) {
      std::string file = dir_.path() + "/rpc-auth";
      std::ofstream(file) << rpc_auth_ << "\n";
      argv.insert(argv.end(), {"--rpc-auth-file", file});
    }
    return std::make_unique<Process>(argv, dir_.path() + "/operator-" + identity + ".log",
                                     pg_env());
  }

  std::vector<std::unique_ptr<AgentPod>>& agents() { return agents_; }
  AgentPod& agent(const std::string& name) {
    for (auto& a : agents_)
      if (a->name == name) return *a;
    throw std::runtime_error("no agent " + name);
  }
  bool agent_running(const AgentPod& a) { return a.proc && a.proc->running(); }

  bool has_row(const std::string& name) {
    try {
      return !pg_->psql_lines("SELECT name FROM nodes WHERE name = '" + name + "'", db_).empty();
    } catch (const std::exception&) {
      return true;  // unknown counts as present: callers wait for absence
    }
  }
  size_t row_count() { return pg_->psql_lines("SELECT name FROM nodes", db_).size(); }
  std::string clusternodes_path() const {
    return "/apis/kongcluster.dev/v1alpha1/namespaces/" + ns_ + "/clusternodes";
  }
  int clusternode_code(const std::string& name) {
    return kube_.get(clusternodes_path() + "/" + name).code;
  }
  nlohmann::json clusternode(const std::string& name) {
    auto r = kube_.get(clusternodes_path() + "/" + name);
    return r.code == 200 && r.body.is_object() ? r.body : nlohmann::json::object();
  }
  std::string clusternode_status(const std::string& name) {
    return clusternode(name).value("status", nlohmann::json::object()).value("status", "");
  }
  std::string lease_holder() {
    auto r = kube_.get("/apis/coordination.k8s.io/v1/namespaces/" + ns_ +
                       "/leases/kong-cluster-operator");
    if (r.code != 200 || !r.body.is_object()) return "";
    return r.body.value("spec", nlohmann::json::object()).value("holderIdentity", "");
  }

  // Whether every running agent but `gone` no longer lists it.
  bool pruned_everywhere(const std::string& gone) {
    for (auto& a : agents_) {
      if (a->name == gone || !agent_running(*a)) continue;
      auto ms = members_of(a->rpc_addr(), rpc_auth_);
      if (!ms || ms->count(gone)) return false;
    }
    return true;
  }
  bool fully_pruned(const std::string& name) {
    return pruned_everywhere(name) && !has_row(name) && clusternode_code(name) == 404;
  }
  // Whether every running agent sees `n` alive members.
  bool converged(size_t n) {
    for (auto& a : agents_) {
      if (!agent_running(*a)) continue;
      auto ms = members_of(a->rpc_addr(), rpc_auth_);
      if (!ms) return false;
      size_t alive = 0;
      for (auto& [k, v] : *ms) alive += v == "alive";
      if (alive != n) return false;
    }
    return true;
  }

 private:
  KubeControlPlane& kube_;
  TempDir dir_;
  std::unique_ptr<PostgresFixture> pg_;
  std::string db_, ns_;
  std::vector<std::unique_ptr<AgentPod>> agents_;
  std::string rpc_auth_;
  std::string ds_uid_;
};

// What the operator tests run besides our binaries.
inline bool tools_present() {
  return postgres_available() && have_program("kubectl") && have_program("serf") &&
         have_program("curl");
}

// A fixture with a Cluster and up to two operator replicas, whose log tails are printed when
// a test fails (the logs live in a temporary folder that goes with the fixture).
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tools_present())
      GTEST_SKIP() << "needs Postgres 15, kubectl, serf and curl (hack/deps.sh)";
    KC_REQUIRE_CONTROL_PLANE();
    cluster_ = std::make_unique<Cluster>();
  }
  void TearDown() override {
    if (!HasFailure()) return;
    for (auto* p : {op_a_.get(), op_b_.get()}) {
      if (!p) continue;
      auto log = p->log();
      std::printf("---- %s (tail)\n%s\n", p->log_path().c_str(),
                  log.substr(log.size() > 5000 ? log.size() - 5000 : 0).c_str());
    }
  }

  // Kills an agent without a leave and waits until gossip (agent-1's view) calls it failed.
  void crash_agent(const std::string& name) {
    cluster_->agent(name).proc->kill9();
    ASSERT_TRUE(wait_until(
        [&] {
          auto ms = members_of(cluster_->agent("agent-1").rpc_addr(), cluster_->rpc_auth());
          return ms && ms->count(name) && ms->at(name) == "failed";
        },
        std::chrono::seconds(30)))
        << name << " not seen failed";
  }

  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Process> op_a_, op_b_;
};

// One metric's value (the first sample whose line starts with `series`) from a /metrics page.
inline double scrape(int port, const std::string& series) {
  auto r = run_command({"curl", "-s", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::atof(line.c_str() + series.size() + 1);
  }
  return -1;
}

}  // namespace kc::test::e2e
