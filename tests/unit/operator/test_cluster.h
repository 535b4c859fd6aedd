// A small cluster for the controller's tests, over the fakes of fake_world.h: three agent pods
// (agent-a .. agent-c, 10.0.0.1 .. 10.0.0.3) on three Ready Nodes, each agent listing every
// member, each member with an hour-old `nodes` row; and what the tests build members and
// objects with.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "common/metrics/registry.h"
#include "fake_world.h"
#include "kube/resources.h"
#include "operator/controller/agent_pods.h"
#include "operator/controller/controller.h"
#include "operator/controller/membership.h"

namespace kc::controller::testing {

inline const std::string kNs = "kong";

// Options with every period in milliseconds, so a test's controller acts at once; the agents
// of the small cluster are trusted by selector (which pods are agents: tested in trust_test).
inline ControllerOptions fast_options() {
  ControllerOptions o;
  o.ns = kNs;
  o.selector = "app=agent";
  o.default_ns = kNs;
  o.member_poll = std::chrono::milliseconds(10);
  o.resync = std::chrono::milliseconds(50);
  o.failed_grace = std::chrono::milliseconds(100);
  o.identity = "test";
  o.agents.trust_selector = true;
  o.retry = {std::chrono::milliseconds(5), std::chrono::milliseconds(40)};
  return o;
}

inline nlohmann::json pod_json(const std::string& name, const std::string& uid,
                               const std::string& ip, const std::string& node) {
  return {{"metadata", {{"name", name}, {"namespace", kNs}, {"uid", uid}}},
          {"spec", {{"nodeName", node}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", ip},
            {"hostIP", ip},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

inline nlohmann::json node_json(const std::string& name) {
  return {{"metadata", {{"name", name}}},
          {"status", {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

inline Member member(const std::string& name, const std::string& ip,
                     const std::string& cluster = "") {
  Member m;
  m.name = name;
  m.address = ip + ":7946";
  m.status = "alive";
  m.tags = {{"pod", name}, {"namespace", kNs}, {"uid", "uid-" + name}};
  if (!cluster.empty()) m.tags["k8s-cluster"] = cluster;
  return m;
}

inline std::string rpc(const std::string& ip) {
  return ip + ":7373";
}
inline std::string cn_path(const std::string& name) {
  return kc::kube::clusternode_path(kNs, name);
}

struct World {
  FakeKube kube;
  FakeAgents agents;
  FakeRows rows;
  std::string cluster;

  explicit World(std::string cluster_id = "") : cluster(std::move(cluster_id)) {
    int i = 1;
    for (std::string n : {"a", "b", "c"}) {
      std::string ip = "10.0.0." + std::to_string(i), node = "node-" + n, name = "agent-" + n;
      kube.nodes.contents()[node] = node_json(node);
      add_pod(name, "uid-" + name, ip, node);
      agents.views[rpc(ip)] = {};
      ++i;
    }
    i = 1;
    for (std::string n : {"a", "b", "c"})
      add_member(member("agent-" + n, "10.0.0." + std::to_string(i++), cluster));
  }
  void add_pod(const std::string& name, const std::string& uid, const std::string& ip,
               const std::string& node) {
    auto pod = pod_json(name, uid, ip, node);
    kube.pods.contents()[kNs + "/" + name] = pod;
    kube.objects[kc::kube::pod_path(kNs, name)] = pod;
  }
  void add_member(const Member& m) {
    agents.add_everywhere(m);
    kc::datastore::NodeRow row;
    row.name = m.name;
    row.address = m.address;
    row.created_at = std::chrono::system_clock::now() - std::chrono::hours(1);
    rows.rows[m.name] = row;
  }
  // The pod deleted, as the API server and a watch see it.
  void delete_pod(const std::string& name) {
    kube.objects.erase(kc::kube::pod_path(kNs, name));
    kube.pods.remove(kNs + "/" + name);
  }
  bool listed(const std::string& name) const {
    for (auto& [addr, ms] : agents.views)
      for (auto& m : ms)
        if (m.name == name) return true;
    return false;
  }
  bool pruned(const std::string& name) const {
    return !listed(name) && !rows.rows.count(name) && !kube.objects.count(cn_path(name));
  }
};

// Whether every member named has its ClusterNode on the server.
inline bool mirrored(const World& w, std::initializer_list<const char*> names) {
  for (const auto* n : names)
    if (!w.kube.objects.count(cn_path(n))) return false;
  return true;
}

// A ClusterNode of member `name`, on the server and in the cache, as the controller writes it.
inline void add_clusternode(FakeKube& kube, const std::string& name) {
  nlohmann::json obj = {{"metadata", {{"name", name}, {"namespace", kNs}}},
                        {"spec", {{"memberName", name}}}};
  kube.objects[cn_path(name)] = obj;
  kube.clusternodes.contents()[kNs + "/" + name] = obj;
}

// Runs `io` until `done` holds or `limit` passes; returns `done`.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return done();
}

// A work queue that retries within milliseconds.
inline WorkQueueOptions fast_queue() {
  return {std::chrono::milliseconds(5), std::chrono::milliseconds(20)};
}

// What every controller test wires first: one io_context that the fakes answer on (so
// destroying a harness, a "crash", drops every answer still in flight to it), the metrics
// registry, and the parts below a reconciler, made on request.
struct Harness {
  boost::asio::io_context io;
  kc::metrics::Registry registry;
  Metrics metrics{registry, "lease"};

  Harness() = default;
  explicit Harness(World& w) { w.kube.io = w.agents.io = w.rows.io = &io; }

  // The agent pod cache, every pod of the selector trusted (which pods are agents: trust_test).
  std::unique_ptr<AgentPods> agent_pods(World& w) {
    w.kube.pods.start();
    AgentIdentity trust_all;
    trust_all.trust_selector = true;
    return std::make_unique<AgentPods>(io, w.kube, w.kube.pods, trust_all, 7373,
                                       std::chrono::minutes(1));
  }
  std::unique_ptr<Membership> membership_of(World& w, AgentPods& pods) {
    return std::make_unique<Membership>(io, w.agents, pods, metrics, ClusterScope{},
                                        std::chrono::hours(1), Membership::Callbacks{});
  }

  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    return kc::controller::testing::run_until(io, done, limit);
  }
  // The value of one series of the metrics page (its name and labels as printed), nullopt if
  // the page has no such line.
  std::optional<int> metric(const std::string& series) const {
    auto text = "\n" + registry.text();
    const auto line = "\n" + series + " ";
    auto at = text.find(line);
    if (at == std::string::npos) return std::nullopt;
    return std::stoi(text.substr(at + line.size()));
  }
  // True when the series is on the page with this value (an absent series is not 0).
  bool metric_is(const std::string& series, int value) const { return metric(series) == value; }
};

// One life of a whole controller, leading: destroying it is a crash.
struct ControllerLife : Harness {
  std::unique_ptr<Controller> controller;

  ControllerLife(World& w, ControllerOptions o) : Harness(w) {
    controller = std::make_unique<Controller>(io, w.kube, w.agents, &w.rows, metrics, std::move(o));
    controller->start();
    controller->set_leading(true);
  }
  ~ControllerLife() { controller.reset(); }
  ControllerLife(const ControllerLife&) = delete;
  ControllerLife& operator=(const ControllerLife&) = delete;
};

}  // namespace kc::controller::testing
