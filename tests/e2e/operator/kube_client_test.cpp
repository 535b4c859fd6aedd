// The Kubernetes client pieces on their own against kube-sim: the informer follows adds and
// deletes, takes bookmarks, relists after compaction and ended watches and reports the
// deletions it missed; Lease election hands over on release and refuses a held lease; an
// agent reads its Node's topology labels and addresses (client side).
#include <boost/asio/io_context.hpp>

#include "e2e/operator/harness.h"
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

}  // namespace

TEST(KubeClient, InformerFollowsBookmarksAndRelistsWithoutLosingDeletions) {
  TempDir dir;
  KubeSim sim(dir);
  sim.ctl({"node-create", "w1"});
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(sim.kubeconfig()));
  kc::kube::InformerOptions o;
  o.path = kc::kube::pods_path("default");
  o.label_selector = "app=a";
  kc::kube::Informer inf(client, o, "pods");
  std::vector<std::string> deleted;
  inf.set_handler([&](kc::kube::EventType t, const nlohmann::json& obj, const nlohmann::json*) {
    if (t == kc::kube::EventType::Deleted) deleted.push_back(obj["metadata"].value("name", ""));
  });
  sim.ctl({"pod-create", "p1", "--node", "w1", "-l", "app=a"});
  sim.ctl({"pod-create", "other", "--node", "w1", "-l", "app=b"});
  inf.start();
  ASSERT_TRUE(run_until(io, [&] { return inf.synced() && inf.watching(); }));
  EXPECT_EQ(inf.items().size(), 1u);  // the selector applies
  sim.ctl({"pod-create", "p2", "--node", "w1", "-l", "app=a"});
  ASSERT_TRUE(run_until(io, [&] { return inf.items().size() == 2; }));

  // A bookmark moves our resourceVersion forward without an object change.
  sim.ctl({"pod-create", "other2", "--node", "w1", "-l", "app=b"});
  auto rv_before = inf.last_resource_version();
  sim.ctl({"bookmark"});
  ASSERT_TRUE(run_until(io, [&] { return inf.counters().bookmarks >= 1; }));
  EXPECT_NE(inf.last_resource_version(), rv_before);

  // The API fails while the watch is down; meanwhile a pod is deleted and the history is
  // compacted. Resuming from our resourceVersion gets 410, the informer relists, and the
  // deletion it missed arrives as a deletion.
  sim.ctl({"fault-error", "--code", "500", "--count", "1000", "--path",
           "/api/v1/namespaces/default/pods"});
  sim.ctl({"fault-end-watches"});
  ASSERT_TRUE(run_until(io, [&] { return inf.counters().errors >= 1; }));
  sim.ctl({"pod-delete", "p1", "--now"});
  sim.ctl({"pod-create", "p3", "--node", "w1", "-l", "app=a"});
  sim.ctl({"fault-compact"});
  sim.ctl({"fault-clear"});
  ASSERT_TRUE(run_until(io, [&] { return !deleted.empty(); }));
  EXPECT_EQ(deleted.front(), "p1");
  EXPECT_EQ(inf.items().size(), 2u);  // p2 and p3
  EXPECT_GE(inf.counters().expired, 1u);
  EXPECT_GE(inf.counters().lists, 2u);
  std::printf(
      "informer: lists %llu, watch restarts %llu, expired %llu, bookmarks %llu\n",
      (unsigned long long)inf.counters().lists, (unsigned long long)inf.counters().watch_restarts,
      (unsigned long long)inf.counters().expired, (unsigned long long)inf.counters().bookmarks);

  // Watches that are expired on arrival (in-stream 410) relist too.
  sim.ctl({"fault-expire-watches", "--count", "2"});
  sim.ctl({"fault-end-watches"});
  sim.ctl({"pod-delete", "p2", "--now"});
  ASSERT_TRUE(run_until(io, [&] { return deleted.size() == 2; }));
  EXPECT_EQ(inf.items().size(), 1u);
  inf.stop();
}

TEST(KubeClient, LeaseElectionHandsOverOnRelease) {
  TempDir dir;
  KubeSim sim(dir);
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(sim.kubeconfig()));
  auto options = [](const std::string& id) {
    kc::kube::LeaderOptions o;
    o.ns = "default";
    o.name = "test-lease";
    o.identity = id;
    return o;
  };
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
  auto lease = sim.get("/apis/coordination.k8s.io/v1/namespaces/default/leases/test-lease");
  EXPECT_EQ(lease.second["spec"].value("leaseDurationSeconds", 0), 15);
  EXPECT_EQ(lease.second["spec"].value("leaseTransitions", -1), 0);
  bool released = false;
  a.release([&] { released = true; });
  ASSERT_TRUE(run_until(io, [&] { return released; }));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io, [&] { return b.leading(); }, 10s));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("lease handover after release: %.1f s\n", s);
  EXPECT_EQ(b_started, 1);
  lease = sim.get("/apis/coordination.k8s.io/v1/namespaces/default/leases/test-lease");
  EXPECT_EQ(lease.second["spec"].value("holderIdentity", ""), "b");
  EXPECT_EQ(lease.second["spec"].value("leaseTransitions", -1), 1);
  EXPECT_EQ(a_started, 1);
}

// The agent's one-shot Beast GET (blocking_get), plain and over TLS with a CA and a token.
TEST(KubeClient, AgentReadsItsNodeTopologyAndAddresses) {
  for (bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "https + token" : "http");
    if (tls && !have_program("openssl")) GTEST_SKIP() << "kube-sim --tls needs openssl";
    TempDir dir;
    KubeSim sim(dir, tls ? std::vector<std::string>{"--tls"} : std::vector<std::string>{});
    sim.ctl({"node-create", "w1", "-l", "topology.kubernetes.io/region=eu-west", "-l",
             "topology.kubernetes.io/zone=eu-west-1a", "-l", "example.com/rack=r7", "--internal-ip",
             "10.0.0.11", "--external-ip", "203.0.113.11"});
    sim.ctl({"node-create", "w2", "--internal-ip", "10.0.0.12"});
    auto config = kc::kube::load_kubeconfig(sim.kubeconfig());
    ASSERT_EQ(config.server.rfind(tls ? "https://" : "http://", 0), 0u) << config.server;
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
    if (tls) {
      // Without the token the API refuses; with a wrong CA the handshake fails.
      auto anonymous = config;
      anonymous.token.clear();
      EXPECT_EQ(kc::kube::blocking_get(anonymous, kc::kube::node_path("w1"), 5s).status, 401);
      auto wrong_ca = config;
      wrong_ca.ca_pem.clear();  // the system store does not know kube-sim's CA
      auto r = kc::kube::blocking_get(wrong_ca, kc::kube::node_path("w1"), 5s);
      EXPECT_EQ(r.status, 0);
      EXPECT_NE(r.error.find("TLS handshake"), std::string::npos) << r.error;
    }
  }
  // Nothing listening: a transport error within the deadline, never a hang.
  kc::kube::Config nowhere;
  nowhere.server = "http://127.0.0.1:" + std::to_string(free_port());
  auto r = kc::kube::blocking_get(nowhere, "/api/v1/nodes/x", 2s);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST(KubeClient, LeaderThatCannotRenewStepsDownWithinTheDeadline) {
  TempDir dir;
  KubeSim sim(dir);
  boost::asio::io_context io;
  kc::kube::RestClient client(io, kc::kube::load_kubeconfig(sim.kubeconfig()));
  kc::kube::LeaderOptions o;
  o.ns = "default";
  o.name = "deadline-lease";
  o.identity = "a";
  bool stopped = false;
  kc::kube::LeaderElector a(client, o, {{}, [&] { stopped = true; }, {}});
  a.start();
  ASSERT_TRUE(run_until(io, [&] { return a.leading(); }));
  // Every Lease request now fails: no renewal succeeds, and the leader must give up once
  // RenewDeadline (10 s) has passed since its last renewal, before the lease (15 s) runs out
  // in anyone else's eyes.
  sim.ctl(
      {"fault-error", "--code", "500", "--count", "100000", "--path", "/apis/coordination.k8s.io"});
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io, [&] { return stopped; }, 20s));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("leader stepped down %.1f s after renewals started failing (deadline 10 s)\n", s);
  EXPECT_FALSE(a.leading());
  EXPECT_GE(s, 8.0);  // the last renewal was up to one retry period (2 s) before the faults
  EXPECT_LE(s, 13.0);
}
