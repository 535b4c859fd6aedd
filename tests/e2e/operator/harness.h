// End-to-end harness for the operator: a kube-sim API server, a real Postgres, real agents
// running as "pods" (downward-API env, rpc container port), and operator replicas, all
// processes on loopback stopped by PID. Helpers read the state each side keeps: gossip
// (serf members over each agent's RPC), the nodes table (psql), Kubernetes (curl on the
// simulator's API, kubectl for what users see).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/postgres_fixture.h"
#include "support/process.h"
#include "support/wait.h"

namespace kc::test::e2e {

inline std::string source_dir() {
  const char* s = std::getenv("KC_SOURCE_DIR");
  return s ? s : ".";
}
inline std::string binary_dir() {
  const char* b = std::getenv("KC_BINARY_DIR");
  return b ? b : "build";
}

class KubeSim {
 public:
  explicit KubeSim(const TempDir& dir, std::vector<std::string> extra = {})
      : kubeconfig_(dir.path() + "/kubeconfig") {
    cache_ = dir.path() + "/kubectl-cache";
    std::vector<std::string> argv = {"/usr/bin/python3",   source_dir() + "/hack/kube-sim",
                                     "--listen",           "127.0.0.1:0",
                                     "--write-kubeconfig", kubeconfig_,
                                     "--pod-stop-seconds", "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Process>(argv, dir.path() + "/kube-sim.log");
    // Ready once it has printed its URL (first line).
    EXPECT_TRUE(wait_until(
        [&] {
          auto log = proc_->log();
          auto nl = log.find('\n');
          if (nl == std::string::npos || log.rfind("http", 0) != 0) return false;
          url_ = log.substr(0, nl);
          return true;
        },
        std::chrono::seconds(15)));
  }
  const std::string& url() const { return url_; }
  const std::string& kubeconfig() const { return kubeconfig_; }

  nlohmann::json ctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/python3", source_dir() + "/hack/kube-sim", "ctl",
                                     "--kubeconfig", kubeconfig_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, 15000);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }
  CommandResult kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig_, "--cache-dir", cache_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 20000);
  }
  // GET on the API: {status code, body}.
  std::pair<int, nlohmann::json> get(const std::string& path) {
    auto r = run_command({"curl", "-s", "-w", "\n%{http_code}", url_ + path}, 10000);
    auto nl = r.output.rfind('\n');
    if (nl == std::string::npos) return {0, nullptr};
    int code = std::atoi(r.output.c_str() + nl + 1);
    auto body = nlohmann::json::parse(r.output.substr(0, nl), nullptr, false);
    return {code, body.is_discarded() ? nlohmann::json() : body};
  }

 private:
  std::string kubeconfig_, cache_, url_;
  std::unique_ptr<Process> proc_;
};

// An agent "pod": the pod object in kube-sim and the agent process with the downward-API env.
struct AgentPod {
  std::string name, uid, node;
  int gossip_port = 0, rpc_port = 0;
  std::unique_ptr<Process> proc;
  std::string rpc_addr() const { return "127.0.0.1:" + std::to_string(rpc_port); }
  std::string gossip_addr() const { return "127.0.0.1:" + std::to_string(gossip_port); }
};

inline const char* kSelector = "app.kubernetes.io/name=kong-cluster";

// name -> status as the agent at `rpc` sees the cluster; nullopt when it does not answer.
inline std::optional<std::map<std::string, std::string>> members_of(const std::string& rpc) {
  auto r = run_command({"serf", "members", "-format=json", "-rpc-addr=" + rpc}, 10000);
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
  Cluster() {
    pg_ = std::make_unique<PostgresFixture>();
    db_ = pg_->create_database("op");
    sim_ = std::make_unique<KubeSim>(dir_);
    sim_->ctl({"node-create", "worker-1", "-l", "topology.kubernetes.io/region=dc1", "-l",
               "topology.kubernetes.io/zone=dc1-a"});
    sim_->ctl({"node-create", "worker-2", "-l", "topology.kubernetes.io/region=dc1", "-l",
               "topology.kubernetes.io/zone=dc1-b"});
    auto r = sim_->kubectl({"apply", "-f", source_dir() + "/manifests/crd/clusternodes.yaml"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }

  KubeSim& sim() { return *sim_; }
  PostgresFixture& pg() { return *pg_; }
  const TempDir& dir() const { return dir_; }

  std::map<std::string, std::string> pg_env() const {
    return {{"KONG_PG_HOST", pg_->host()},
            {"KONG_PG_PORT", std::to_string(pg_->port())},
            {"KONG_PG_USER", pg_->user()},
            {"KONG_PG_DATABASE", db_}};
  }

  AgentPod& add_agent(const std::string& name, const std::string& node = "worker-1") {
    auto a = std::make_unique<AgentPod>();
    a->name = name;
    a->node = node;
    a->gossip_port = free_port();
    a->rpc_port = free_port();
    auto pod = sim_->ctl({"pod-create", name, "-n", "default", "--node", node, "--pod-ip",
                          "127.0.0.1", "-l", kSelector, "-p", "rpc:" + std::to_string(a->rpc_port),
                          "-p", "serflan:" + std::to_string(a->gossip_port)});
    const auto& obj = pod.contains("object") ? pod["object"] : pod;
    a->uid = obj["metadata"].value("uid", "");
    EXPECT_FALSE(a->uid.empty()) << pod.dump();
    std::vector<std::string> argv = {binary_dir() + "/bin/kong-cluster",
                                     "agent",
                                     "--node",
                                     name,
                                     "--bind",
                                     a->gossip_addr(),
                                     "--rpc-addr",
                                     a->rpc_addr(),
                                     "--profile",
                                     "lan"};
    if (!agents_.empty()) argv.insert(argv.end(), {"--join", agents_.front()->gossip_addr()});
    auto env = pg_env();
    env["POD_NAME"] = name;
    env["POD_NAMESPACE"] = "default";
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
                                     sim_->kubeconfig(),
                                     "--namespace",
                                     "default",
                                     "--selector",
                                     kSelector,
                                     "--leader-elect",
                                     "--lease-namespace",
                                     "default",
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
                                     "debug"};
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
  int clusternode_code(const std::string& name) {
    return sim_->get("/apis/kongcluster.dev/v1alpha1/namespaces/default/clusternodes/" + name)
        .first;
  }
  std::string clusternode_status(const std::string& name) {
    auto [code, body] =
        sim_->get("/apis/kongcluster.dev/v1alpha1/namespaces/default/clusternodes/" + name);
    if (code != 200) return "";
    return body.value("status", nlohmann::json::object()).value("status", "");
  }
  std::string lease_holder() {
    auto [code, body] =
        sim_->get("/apis/coordination.k8s.io/v1/namespaces/default/leases/kong-cluster-operator");
    if (code != 200) return "";
    return body.value("spec", nlohmann::json::object()).value("holderIdentity", "");
  }

  // Whether every running agent but `gone` no longer lists it.
  bool pruned_everywhere(const std::string& gone) {
    for (auto& a : agents_) {
      if (a->name == gone || !agent_running(*a)) continue;
      auto ms = members_of(a->rpc_addr());
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
      auto ms = members_of(a->rpc_addr());
      if (!ms) return false;
      size_t alive = 0;
      for (auto& [k, v] : *ms) alive += v == "alive";
      if (alive != n) return false;
    }
    return true;
  }

 private:
  TempDir dir_;
  std::unique_ptr<PostgresFixture> pg_;
  std::string db_;
  std::unique_ptr<KubeSim> sim_;
  std::vector<std::unique_ptr<AgentPod>> agents_;
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
