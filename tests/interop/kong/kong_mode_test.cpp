// `serf agent` as Kong starts it runs kong-cluster in Kong mode: Kong owns its `nodes` row,
// so the agent registers nothing even with Kong's KONG_PG_* in its environment (while a
// plain `kong-cluster agent` with the same environment does), and the pod's Kubernetes
// identity still works: the pod IP advertised without -advertise, the pod/namespace/uid/node
// tags from the downward API, the dc/zone tags from its Node's labels and the k8s-cluster tag
// from the kube-system Namespace (read from the API server its kubeconfig names), /metrics on
// KONG_CLUSTER_HTTP_LISTEN.
//
// The API server here is a stub that answers the two GETs the agent makes with the objects a
// real one returns; the same reads against a real kube-apiserver (and every advertise mode)
// are tests/e2e/agent_node, which needs the control plane build. What this test adds is that
// Kong's agent line, with no flag for any of it, still makes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/http/server.h"
#include "support/cluster_procs.h"
#include "support/own_postgres_test.h"
#include "support/wait.h"
#include "unit/http/http_test_util.h"

using namespace kc::test;
using namespace std::chrono_literals;

namespace {

// The Kubernetes API as the agent reads it at start-up: its Node (topology labels) and the
// kube-system Namespace (the cluster's identity); every request is recorded.
class StubKubeApi {
 public:
  StubKubeApi(std::string node, std::map<std::string, std::string> labels, std::string cluster_uid)
      : node_(std::move(node)), labels_(std::move(labels)), cluster_uid_(std::move(cluster_uid)) {
    loop_.run([&] {
      kc::http::ServerOptions o;
      o.bind = "127.0.0.1:0";
      server_ = std::make_unique<kc::http::Server>(
          loop_.io(), o, [this](kc::http::Request& req, kc::http::Reply reply) {
            {
              std::lock_guard<std::mutex> lock(mu_);
              seen_.push_back(req.method + " " + req.path + " " + req.header("authorization"));
            }
            reply(answer(req));
          });
      server_->start();
      port_ = server_->local_endpoint().port();
      return 0;
    });
  }
  ~StubKubeApi() {
    loop_.run([&] {
      server_.reset();
      return 0;
    });
  }
  // A kubeconfig naming this server, with a bearer token.
  std::string write_kubeconfig(const std::string& path) const {
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                        << "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:" << port_
                        << "'}}]\n"
                        << "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                        << "users: [{name: u, user: {token: kong-pod-token}}]\n";
    return path;
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  kc::http::Response answer(const kc::http::Request& req) const {
    using json = nlohmann::json;
    if (req.method == "GET" && req.path == "/api/v1/nodes/" + node_) {
      json addresses = json::array({{{"type", "InternalIP"}, {"address", "127.0.0.3"}}});
      json node = {{"kind", "Node"},
                   {"apiVersion", "v1"},
                   {"metadata", {{"name", node_}, {"labels", labels_}}},
                   {"status", {{"addresses", addresses}}}};
      return kc::http::json_response(200, node);
    }
    if (req.method == "GET" && req.path == "/api/v1/namespaces/kube-system") {
      json ns = {{"kind", "Namespace"},
                 {"apiVersion", "v1"},
                 {"metadata", {{"name", "kube-system"}, {"uid", cluster_uid_}}}};
      return kc::http::json_response(200, ns);
    }
    return kc::http::json_response(404, json{{"kind", "Status"}, {"code", 404}});
  }

  std::string node_;
  std::map<std::string, std::string> labels_;
  std::string cluster_uid_;
  kc::test::LoopThread loop_;
  std::unique_ptr<kc::http::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

class KongMode : public OwnPostgresTest {
 protected:
  std::vector<std::string> row_names() { return nodes_rows("name"); }
  TempDir dir_;
};

TEST_F(KongMode, RegistersNoRowAndKeepsThePodIdentity) {
  // A plain agent with Kong's datastore settings registers: the table and settings work.
  GossipAgent::Options control;
  control.name = "control";
  control.env = kong_env();
  GossipAgent plain(dir_, control);
  ASSERT_TRUE(wait_until([&] { return row_names() == std::vector<std::string>{"control"}; }, 30s))
      << plain.process().log();

  // The pod's API server: its Node carries the standard topology labels.
  StubKubeApi api("worker-kong-1",
                  {{"topology.kubernetes.io/region", "eu-central"},
                   {"topology.kubernetes.io/zone", "eu-central-1b"},
                   {"kubernetes.io/hostname", "worker-kong-1"}},
                  "0d7c2b7e-9a51-4c1e-8f3d-6a2b1c0d9e8f");

  // Kong's agent line, with the pod's environment under it. Binding 0.0.0.0 as Kong's
  // default cluster_listen does, the member must advertise the pod IP (127.0.0.2 here).
  int gossip = free_port(), rpc = free_port(), http = free_port();
  std::string name = "kong-host_0.0.0.0:" + std::to_string(gossip) + "_0123456789abcdef";
  auto env = kong_env();
  env.insert({{"POD_NAME", "kong-abc12"},
              {"POD_NAMESPACE", "gateways"},
              {"POD_UID", "5e0c1d7a-1111-2222-3333-444455556666"},
              {"POD_IP", "127.0.0.2"},
              {"NODE_NAME", "worker-kong-1"},
              {"KUBECONFIG", api.write_kubeconfig(dir_.path() + "/kubeconfig")},
              {"KONG_CLUSTER_HTTP_LISTEN", "127.0.0.1:" + std::to_string(http)}});
  Process kong({kong_cluster_binary().substr(0, kong_cluster_binary().rfind('/')) + "/serf",
                "agent", "-profile", "lan", "-node", name, "-bind",
                "0.0.0.0:" + std::to_string(gossip), "-rpc-addr=127.0.0.1:" + std::to_string(rpc),
                "-log-level", "err", "-event-handler", "member-join,user:kong=/bin/true"},
               dir_.path() + "/kong-serf.log", env);
  std::string ours = "127.0.0.1:" + std::to_string(rpc);
  ASSERT_TRUE(wait_until(
      [&] {
        return run_command({"serf", "join", "-rpc-addr=" + ours, plain.gossip_addr()}).exit_code ==
               0;
      },
      20s))
      << kong.log();
  ASSERT_TRUE(wait_until([&] { return plain.status_of(name) == "alive"; }, 30s)) << kong.log();

  auto seen = plain.members();
  ASSERT_TRUE(seen);
  const MemberView& m = seen->at(name);
  EXPECT_EQ(m.addr, "127.0.0.2:" + std::to_string(gossip));
  EXPECT_EQ(m.tags.at("pod"), "kong-abc12");
  EXPECT_EQ(m.tags.at("namespace"), "gateways");
  EXPECT_EQ(m.tags.at("uid"), "5e0c1d7a-1111-2222-3333-444455556666");
  EXPECT_EQ(m.tags.at("node"), "worker-kong-1");
  EXPECT_EQ(m.tags.at("dc"), "eu-central");
  EXPECT_EQ(m.tags.at("zone"), "eu-central-1b");
  EXPECT_EQ(m.tags.at("k8s-cluster"), "0d7c2b7e-9a51-4c1e-8f3d-6a2b1c0d9e8f");
  // Read with the kubeconfig's credentials, once each.
  auto requests = api.seen();
  std::sort(requests.begin(), requests.end());
  EXPECT_EQ(requests,
            (std::vector<std::string>{"GET /api/v1/namespaces/kube-system Bearer kong-pod-token",
                                      "GET /api/v1/nodes/worker-kong-1 Bearer kong-pod-token"}));

  auto metrics =
      run_command({"curl", "-sf", "http://127.0.0.1:" + std::to_string(http) + "/metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << kong.log();
  EXPECT_NE(metrics.output.find("kong_cluster_members"), std::string::npos) << metrics.output;
  // No datastore link at all: its series are exported from the moment it exists.
  EXPECT_EQ(metrics.output.find("kong_cluster_datastore_"), std::string::npos);
  // And no row for it: a plain agent's row appears within a second of its start, as
  // `control`'s did above.
  EXPECT_EQ(row_names(), std::vector<std::string>{"control"});
}

}  // namespace
