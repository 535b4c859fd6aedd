// The operator inside a "pod": in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT, the
// service-account token, CA and namespace files) against the real apiserver over TLS, as the
// ServiceAccount of manifests/base with exactly the RBAC rules manifests/base grants it.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

TEST(OperatorInCluster, TlsWithServiceAccountTokenAndCa) {
  KC_REQUIRE_CONTROL_PLANE();
  auto& kube = control_plane();
  TempDir dir;
  const std::string ns = "kong-cluster", base = source_dir() + "/manifests/base/";
  for (const char* f : {"namespace.yaml", "serviceaccounts.yaml", "rbac.yaml"}) {
    auto r = kube.kubectl({"apply", "-f", base + f});
    ASSERT_EQ(r.exit_code, 0) << f << ": " << r.output;
  }
  auto crd = kube.kubectl({"apply", "-f", source_dir() + "/manifests/crd/clusternodes.yaml"});
  ASSERT_EQ(crd.exit_code, 0) << crd.output;
  // What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount.
  std::string sa = dir.path() + "/serviceaccount";
  std::filesystem::create_directories(sa);
  std::string token = service_account_token(ns, "kong-cluster-operator");
  ASSERT_FALSE(token.empty());
  std::ofstream(sa + "/token") << token;
  std::ofstream(sa + "/ca.crt") << kube.ca_pem();
  std::ofstream(sa + "/namespace") << ns;
  int http_port = free_port();
  Process op({binary_dir() + "/bin/kong-cluster-operator", "--service-account-dir", sa,
              "--leader-elect", "--identity", "in-cluster-op", "--metrics-addr",
              "127.0.0.1:" + std::to_string(http_port), "--health-addr",
              "127.0.0.1:" + std::to_string(http_port), "--agent-daemonset", "kong-cluster-agent",
              // As the Deployment passes it ($(POD_NAMESPACE)): the Role grants pods in this
              // namespace only, and without --namespace the operator would list them cluster-wide.
              "--namespace", ns},
             dir.path() + "/operator.log",
             {{"KUBERNETES_SERVICE_HOST", "127.0.0.1"},
              {"KUBERNETES_SERVICE_PORT", std::to_string(kube.port())},
              {"KUBECONFIG", ""}});
  // The Lease lands in the service account's namespace, held by us.
  bool held = wait_until(
      [&] {
        auto r = kube.kubectl({"get", "lease", "kong-cluster-operator", "-n", ns, "-o",
                               "jsonpath={.spec.holderIdentity}"});
        return r.exit_code == 0 && r.output == "in-cluster-op";
      },
      20s, 200ms);
  EXPECT_TRUE(held) << op.log();
  // Ready: its caches (pods, Nodes, ClusterNodes) synced under its own RBAC.
  bool ready = wait_until(
      [&] {
        auto r = run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                              "http://127.0.0.1:" + std::to_string(http_port) + "/readyz"});
        return r.output == "200";
      },
      20s, 200ms);
  EXPECT_TRUE(ready) << op.log();
  std::printf(
      "in-cluster over https as system:serviceaccount:%s:kong-cluster-operator: lease "
      "held %s, /readyz 200 %s\n",
      ns.c_str(), held ? "yes" : "no", ready ? "yes" : "no");
}
