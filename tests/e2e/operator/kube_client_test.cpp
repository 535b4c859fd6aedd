// The Kubernetes client pieces on their own against the real apiserver (kube_cluster.h): the
// informer follows adds and deletes, takes bookmarks, relists when an apiserver restart makes
// its resourceVersion too old and reports the deletions it missed; Lease election hands over
// on release, refuses a held lease and steps down when RBAC stops its renewals; an agent reads
// its Node's topology labels and addresses (client side, client certificate or token).
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <functional>

#include "e2e/kube_objects.h"
#include "kube/blocking_get.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/leader.h"
#include "kube/node_topology.h"
#include "kube/resources.h"
#include "kube/rest_client.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

namespace {

// Runs the loop until `done` holds or the deadline passes.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(20ms);
  }
  return true;
}

// Pods labelled app=<app> on Node w1, as plain objects (no kubelet needed to list and watch them).
void create_app_pod(const std::string& ns, const std::string& name, const std::string& app) {
  PodSpec p;
  p.ns = ns;
  p.name = name;
  p.node = "w1";
  p.labels = {{"app", app}};
  create_pod(p);
}

// The options of an elector for the Lease "test-lease" in ns.
kc::kube::LeaderOptions lease_options(const std::string& ns, const std::string& identity) {
  kc::kube::LeaderOptions o;
  o.ns = ns;
  o.name = "test-lease";
  o.identity = identity;
  return o;
}

}  // namespace

TEST(KubeClient, InformerFollowsBookmarks) {
  KC_REQUIRE_CONTROL_PLANE();
  std::string ns = fresh_namespace();
  put_node({"w1"});
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(control_plane().kubeconfig()));
  kc::kube::InformerOptions o;
  o.path = kc::kube::pods_path(ns);
  o.label_selector = "app=a";
  // The apiserver sends a watch a bookmark 2 s before its timeout (and otherwise about once a
  // minute): short watches make one come soon.
  o.watch_timeout_min_s = 6;  // [min, max): 6 s
  o.watch_timeout_max_s = 7;
  kc::kube::Informer inf(client, o, "pods");
  create_app_pod(ns, "p1", "a");
  create_app_pod(ns, "other", "b");
  inf.start();
  ASSERT_TRUE(run_until(io, [&] { return inf.synced() && inf.watching(); }));
  EXPECT_EQ(inf.items().size(), 1u);  // the selector applies
  create_app_pod(ns, "p2", "a");
  ASSERT_TRUE(run_until(io, [&] { return inf.items().size() == 2; }));

  // A bookmark moves our resourceVersion forward without an object change (ours: "other2"
  // is not selected).
  create_app_pod(ns, "other2", "b");
  auto rv_before = inf.last_resource_version();
  auto bookmarks = inf.counters().bookmarks;
  ASSERT_TRUE(run_until(
      io, [&] { return inf.counters().bookmarks > bookmarks; }, 20s));
  EXPECT_NE(inf.last_resource_version(), rv_before);
  EXPECT_EQ(inf.items().size(), 2u);
  inf.stop();
}

TEST(KubeClient, InformerRelistsAfterAnApiserverRestartWithoutLosingDeletions) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  std::string ns = fresh_namespace();
  put_node({"w1"});
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(kube.kubeconfig()));
  kc::kube::InformerOptions o;
  o.path = kc::kube::pods_path(ns);
  o.label_selector = "app=a";
  kc::kube::Informer inf(client, o, "pods");
  std::vector<std::string> deleted;
  inf.set_handler([&](kc::kube::EventType t, const nlohmann::json& obj, const nlohmann::json*) {
    if (t == kc::kube::EventType::Deleted) deleted.push_back(obj["metadata"].value("name", ""));
  });
  create_app_pod(ns, "p1", "a");
  create_app_pod(ns, "p2", "a");
  inf.start();
  ASSERT_TRUE(
      run_until(io, [&] { return inf.synced() && inf.watching() && inf.items().size() == 2; }));

  // The informer runs only inside run_until: between calls it misses everything. A write
  // elsewhere moves etcd's revision past the informer's; the apiserver is stopped (the watch
  // ends, reconnecting fails) and started again, its new watch cache beginning at the current
  // revision; a pod is deleted meanwhile. Resuming the watch from the informer's
  // resourceVersion then gets 410 (in the stream), the informer relists, and the deletion it
  // missed arrives as a deletion.
  int restarts = 0;
  auto restart_missing = [&](const std::function<void()>& meanwhile) {
    ++restarts;
    auto errors = inf.counters().errors;
    expect_code(kube.request("POST", "/api/v1/namespaces/" + ns + "/configmaps",
                             {{"apiVersion", "v1"},
                              {"kind", "ConfigMap"},
                              {"metadata", {{"name", "write-" + std::to_string(restarts)}}}}),
                201, "a write elsewhere");
    kube.apiserver("stop");
    ASSERT_TRUE(run_until(io, [&] { return inf.counters().errors > errors; }));
    kube.apiserver("start");
    meanwhile();
  };
  restart_missing([&] {
    delete_pod(ns, "p1");
    create_app_pod(ns, "p3", "a");
  });
  if (HasFatalFailure()) return;
  ASSERT_TRUE(run_until(
      io, [&] { return !deleted.empty() && inf.items().size() == 2; }, 60s));
  EXPECT_EQ(deleted.front(), "p1");
  EXPECT_EQ(inf.items().size(), 2u);  // p2 and p3
  EXPECT_GE(inf.counters().expired, 1u);
  EXPECT_GE(inf.counters().lists, 2u);
  std::printf(
      "informer: lists %llu, watch restarts %llu, expired %llu, errors %llu\n",
      (unsigned long long)inf.counters().lists, (unsigned long long)inf.counters().watch_restarts,
      (unsigned long long)inf.counters().expired, (unsigned long long)inf.counters().errors);

  // Again: every such restart relists.
  restart_missing([&] { delete_pod(ns, "p2"); });
  if (HasFatalFailure()) return;
  ASSERT_TRUE(run_until(
      io, [&] { return deleted.size() == 2; }, 60s));
  EXPECT_EQ(deleted.back(), "p2");
  EXPECT_EQ(inf.items().size(), 1u);
  EXPECT_GE(inf.counters().expired, 2u);
  inf.stop();
}

TEST(KubeClient, LeaseElectionHandsOverOnRelease) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  std::string ns = fresh_namespace();
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(kube.kubeconfig()));
  auto options = [&](const std::string& id) { return lease_options(ns, id); };
  int a_started = 0, a_stopped = 0, b_started = 0;
  kc::kube::LeaderElector a(client, options("a"), {[&] { ++a_started; }, [&] { ++a_stopped; }, {}});
  kc::kube::LeaderElector b(client, options("b"), {[&] { ++b_started; }, {}, {}});
  a.start();
  ASSERT_TRUE(run_until(io, [&] { return a.leading(); }));
  b.start();
  // b sees a's lease, which is fresh in b's own eyes, and stays out for several retries.
  EXPECT_FALSE(run_until(
      io, [&] { return b.leading(); }, 5s));
  EXPECT_EQ(b.observed_holder(), "a");
  std::string lease_path = "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/test-lease";
  auto lease = kube.get(lease_path);
  ASSERT_EQ(lease.code, 200) << lease.text;
  EXPECT_EQ(lease.body["spec"].value("leaseDurationSeconds", 0), 15);
  EXPECT_EQ(lease.body["spec"].value("leaseTransitions", -1), 0);
  bool released = false;
  a.release([&] { released = true; });
  ASSERT_TRUE(run_until(io, [&] { return released; }));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io, [&] { return b.leading(); }, 10s));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("lease handover after release: %.1f s\n", s);
  EXPECT_EQ(b_started, 1);
  lease = kube.get(lease_path);
  EXPECT_EQ(lease.body["spec"].value("holderIdentity", ""), "b");
  EXPECT_EQ(lease.body["spec"].value("leaseTransitions", -1), 1);
  EXPECT_EQ(a_started, 1);
}

// A replica told to stop while one of its renewals is out still gives the Lease up: released
// after that renewal lands, not with the resourceVersion from before it (a conflict that left
// the Lease held by a stopped process until it expired, and the standby waiting that long).
TEST(KubeClient, ReleaseDuringARenewalGivesTheLeaseUp) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  std::string ns = fresh_namespace();
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(kube.kubeconfig()));
  auto o = lease_options(ns, "a");
  o.retry_period = std::chrono::milliseconds(100);
  kc::kube::LeaderElector a(client, o, {});
  a.start();
  ASSERT_TRUE(run_until(io, [&] { return a.leading(); }));
  // One handler at a time, so the release goes out right after a renewal went out.
  auto guard = boost::asio::make_work_guard(io);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!a.request_in_flight() && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(a.request_in_flight());
  bool released = false;
  a.release([&] { released = true; });
  ASSERT_TRUE(run_until(io, [&] { return released; }));
  auto lease = kube.get("/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/test-lease");
  ASSERT_EQ(lease.code, 200) << lease.text;
  EXPECT_EQ(lease.body["spec"].value("holderIdentity", "?"), "") << lease.text;
  EXPECT_EQ(lease.body["spec"].value("leaseDurationSeconds", 0), 1) << lease.text;
  EXPECT_FALSE(a.leading());
}

// The agent's one-shot Beast GET (blocking_get) over TLS with the cluster's CA, as the admin
// (client certificate, from the kubeconfig) and as a ServiceAccount whose ClusterRole allows
// only `get nodes` (bearer token, as the agent's chart RBAC).
TEST(KubeClient, AgentReadsItsNodeTopologyAndAddresses) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  put_node({"w1",
            {{"topology.kubernetes.io/region", "eu-west"},
             {"topology.kubernetes.io/zone", "eu-west-1a"},
             {"example.com/rack", "r7"}},
            "10.0.0.11",
            "203.0.113.11"});
  put_node({"w2", {}, "10.0.0.12"});
  std::string ns = fresh_namespace();
  create_service_account(ns, "node-reader");
  grant("", ns + "-node-reader",
        {{{"apiGroups", {""}}, {"resources", {"nodes"}}, {"verbs", {"get"}}}}, ns, "node-reader");
  auto by_token = kc::kube::Config{};
  by_token.server = kube.server();
  by_token.ca_pem = kube.ca_pem();
  by_token.token = service_account_token(ns, "node-reader");
  std::vector<std::pair<std::string, kc::kube::Config>> identities = {
      {"client certificate", kc::kube::load_kubeconfig(kube.kubeconfig())},
      {"ServiceAccount token", by_token}};
  for (auto& [what, config] : identities) {
    SCOPED_TRACE(what);
    ASSERT_EQ(config.server.rfind("https://", 0), 0u) << config.server;
    auto get = [&](const std::string& node) {
      return kc::kube::blocking_get(config, kc::kube::node_path(node), 5s);
    };
    auto r1 = get("w1");
    ASSERT_TRUE(r1.ok()) << r1.describe();
    auto w1 = kc::kube::topology_of(r1.body);
    EXPECT_EQ(w1.dc, "eu-west");
    EXPECT_EQ(w1.zone, "eu-west-1a");
    EXPECT_EQ(kc::kube::node_advertise_ip(w1, "node-internal"), "10.0.0.11");
    EXPECT_EQ(kc::kube::node_advertise_ip(w1, "node-external"), "203.0.113.11");
    auto custom =
        kc::kube::topology_of(r1.body, {"example.com/rack", "topology.kubernetes.io/zone"});
    EXPECT_EQ(custom.dc, "r7");  // label keys are configurable
    auto r2 = get("w2");
    ASSERT_TRUE(r2.ok()) << r2.describe();
    auto w2 = kc::kube::topology_of(r2.body);
    EXPECT_EQ(w2.dc, "");
    EXPECT_EQ(kc::kube::node_advertise_ip(w2, "node-internal"), "10.0.0.12");
    EXPECT_EQ(kc::kube::node_advertise_ip(w2, "node-external"), std::nullopt);
    auto missing = get("nope");
    EXPECT_EQ(missing.status, 404) << missing.describe();
    // With a wrong CA the handshake fails.
    auto wrong_ca = config;
    wrong_ca.ca_pem.clear();  // the system store does not know the cluster's CA
    auto r = kc::kube::blocking_get(wrong_ca, kc::kube::node_path("w1"), 5s);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("TLS handshake"), std::string::npos) << r.error;
  }
  // Without credentials the request is anonymous, which RBAC grants no Node (403); a token
  // the apiserver did not sign is refused outright (401).
  auto anonymous = by_token;
  anonymous.token.clear();
  auto r = kc::kube::blocking_get(anonymous, kc::kube::node_path("w1"), 5s);
  EXPECT_EQ(r.status, 403) << r.describe();
  auto forged = by_token;
  forged.token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  r = kc::kube::blocking_get(forged, kc::kube::node_path("w1"), 5s);
  EXPECT_EQ(r.status, 401) << r.describe();
  // Nothing listening: a transport error within the deadline, never a hang.
  kc::kube::Config nowhere;
  nowhere.server = "http://127.0.0.1:" + std::to_string(free_port());
  r = kc::kube::blocking_get(nowhere, "/api/v1/nodes/x", 2s);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

// The elector runs as a ServiceAccount whose Role allows the Lease calls; RBAC then takes
// that away (the RoleBinding is deleted), and every renewal is refused with 403.
TEST(KubeClient, LeaderThatCannotRenewStepsDownWithinTheDeadline) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  std::string ns = fresh_namespace();
  create_service_account(ns, "elector");
  grant(ns, "elector",
        {{{"apiGroups", {"coordination.k8s.io"}},
          {"resources", {"leases"}},
          {"verbs", {"get", "create", "update"}}}},
        ns, "elector");
  kc::kube::Config config;
  config.server = kube.server();
  config.ca_pem = kube.ca_pem();
  config.token = service_account_token(ns, "elector");
  boost::asio::io_context io;
  kc::kube::RestClient client(io, config);
  kc::kube::LeaderOptions o;
  o.ns = ns;
  o.name = "deadline-lease";
  o.identity = "a";
  bool stopped = false;
  kc::kube::LeaderElector a(client, o, {{}, [&] { stopped = true; }, {}});
  a.start();
  ASSERT_TRUE(run_until(io, [&] { return a.leading(); }));
  // Every Lease request now fails: no renewal succeeds, and the leader must give up once
  // RenewDeadline (10 s) has passed since its last renewal, before the lease (15 s) runs out
  // in anyone else's eyes.
  expect_code(kube.request("DELETE", "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns +
                                         "/rolebindings/elector"),
              200, "deleting the RoleBinding");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io, [&] { return stopped; }, 20s));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("leader stepped down %.1f s after renewals started failing (deadline 10 s)\n", s);
  EXPECT_FALSE(a.leading());
  EXPECT_GE(s, 8.0);  // the last renewal was up to one retry period (2 s) before the faults
  EXPECT_LE(s, 13.0);
}
