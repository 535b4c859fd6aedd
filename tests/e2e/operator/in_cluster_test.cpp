// The operator inside a "pod": in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT, the
// service-account token and CA) against kube-sim serving https with a required bearer token.
#include <cstdio>

#include "e2e/operator/harness.h"

using namespace kc::test;
using namespace kc::test::e2e;
using namespace std::chrono_literals;

TEST(OperatorInCluster, TlsWithServiceAccountTokenAndCa) {
  if (!have_program("kubectl") || !have_program("curl") || !have_program("openssl"))
    GTEST_SKIP() << "needs kubectl, curl and openssl";
  TempDir dir;
  std::string sa = dir.path() + "/serviceaccount";
  KubeSim sim(dir, {"--tls", "--write-service-account", sa});
  ASSERT_EQ(sim.url().rfind("https://127.0.0.1:", 0), 0u) << sim.url();
  std::string port = sim.url().substr(sim.url().rfind(':') + 1);
  auto crd = sim.kubectl({"apply", "-f", source_dir() + "/manifests/crd/clusternodes.yaml"});
  ASSERT_EQ(crd.exit_code, 0) << crd.output;
  int http_port = free_port();
  Process op(
      {binary_dir() + "/bin/kong-cluster-operator", "--service-account-dir", sa, "--leader-elect",
       "--identity", "in-cluster-op", "--metrics-addr", "127.0.0.1:" + std::to_string(http_port),
       "--health-addr", "127.0.0.1:" + std::to_string(http_port), "--agent-daemonset",
       "default/kong-cluster-agent"},
      dir.path() + "/operator.log",
      {{"KUBERNETES_SERVICE_HOST", "127.0.0.1"},
       {"KUBERNETES_SERVICE_PORT", port},
       {"KUBECONFIG", ""}});
  // The Lease lands in the service account's namespace, held by us.
  bool held = wait_until(
      [&] {
        auto r = sim.kubectl({"get", "lease", "kong-cluster-operator", "-n", "default", "-o",
                              "jsonpath={.spec.holderIdentity}"});
        return r.exit_code == 0 && r.output == "in-cluster-op";
      },
      20s, 200ms);
  EXPECT_TRUE(held) << op.log();
  auto ready = run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:" + std::to_string(http_port) + "/readyz"});
  EXPECT_EQ(ready.output, "200");
  std::printf("in-cluster over https: lease held, /readyz %s\n", ready.output.c_str());
}
