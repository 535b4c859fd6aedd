// The real Kubernetes API for end-to-end tests: etcd and kube-apiserver of hack/k8s
// (`cluster up --apiserver-only`, TLS and RBAC as docs/kubernetes.md describes), started once
// per test binary by a gtest global Environment and brought down after its last test (or by
// the cluster's reaper when the binary is killed). No controllers run: the tests create Nodes
// and Pods as plain objects (kube_objects.h) and play kubelet through the status subresource.
// Requests go over TLS as the cluster admin (client certificate) unless a test makes a
// ServiceAccount token for a narrower identity.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace kc::test::e2e {

inline std::string source_dir() {
  const char* s = std::getenv("KC_SOURCE_DIR");
  return s ? s : ".";
}
inline std::string binary_dir() {
  const char* b = std::getenv("KC_BINARY_DIR");
  return b ? b : "build";
}

// An API answer: the HTTP status (0 when no answer came) and the body as JSON (null if not).
struct ApiResult {
  int code = 0;
  nlohmann::json body;
  std::string text;  // the body as received, for messages
};

class KubeControlPlane : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* tool : {"kubectl", "curl", "python3"})
      if (!have_program(tool)) skip_ = std::string("needs ") + tool + " (hack/deps.sh)";
    if (!skip_.empty()) return;
    auto bins = run_command({source_dir() + "/hack/k8s/build.sh", "--bin-dir"}, 30000);
    std::string bin_dir = bins.output.substr(0, bins.output.find_last_not_of("\n") + 1);
    bin_dir = bin_dir.substr(bin_dir.rfind('\n') + 1);
    for (const char* b : {"etcd", "kube-apiserver"})
      if (access((bin_dir + "/" + b).c_str(), X_OK) != 0)
        skip_ = "the Kubernetes binaries are not built in " + bin_dir + " (hack/k8s/build.sh)";
    if (!skip_.empty()) return;
    state_ = dir_.path() + "/k8s";
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_command(
        {"/usr/bin/python3", source_dir() + "/hack/k8s/cluster", "up", "--apiserver-only",
         "--bind-address", "127.0.0.1", "--owner", std::to_string(getpid()), "--state-dir", state_},
        300000);
    if (r.exit_code != 0) {
      error_ =
          "hack/k8s/cluster up failed (exit " + std::to_string(r.exit_code) + "):\n" + r.output;
      return;
    }
    std::ifstream in(state_ + "/cluster.json");
    auto state = nlohmann::json::parse(in, nullptr, false);
    if (state.is_discarded()) {
      error_ = "no readable cluster.json in " + state_ + ":\n" + r.output;
      return;
    }
    port_ = state["ports"].value("apiserver", 0);
    std::printf("k8s: etcd + kube-apiserver up in %.1f s on port %d\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                port_);
  }
  void TearDown() override {
    if (port_ == 0) return;
    auto r = run_command(
        {"/usr/bin/python3", source_dir() + "/hack/k8s/cluster", "down", "--state", state_}, 60000);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    port_ = 0;
  }

  // Why the tests cannot run here (a skip), or why the control plane did not come up (a failure).
  const std::string& skip_reason() const { return skip_; }
  const std::string& error() const { return error_; }

  int port() const { return port_; }
  std::string server() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string kubeconfig() const { return state_ + "/admin.kubeconfig"; }
  std::string ca_file() const { return state_ + "/pki/ca.crt"; }
  std::string ca_pem() const { return read_text(ca_file()); }

  // `hack/k8s/cluster apiserver stop|start`: the apiserver alone (etcd and its data stay).
  // kill: stop it as a crash; a graceful stop with watches open takes 10 s.
  void apiserver(const std::string& action, bool kill = false) {
    std::vector<std::string> argv = {"/usr/bin/python3", source_dir() + "/hack/k8s/cluster",
                                     "apiserver",        action,
                                     "--state",          state_};
    if (kill) argv.push_back("--kill");
    auto r = run_command(argv, 180000);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // One API call as the admin, or with `token` as a bearer token.
  ApiResult request(const std::string& method, const std::string& path,
                    const nlohmann::json& body = nullptr,
                    const std::string& content_type = "application/json",
                    const std::string& token = "") {
    std::vector<std::string> argv = {
        "curl", "-s",   "-w", "\n%{http_code}",          "--cacert", ca_file(),
        "-X",   method, "-H", "Accept: application/json"};
    if (token.empty()) {
      argv.insert(argv.end(),
                  {"--cert", state_ + "/pki/admin.crt", "--key", state_ + "/pki/admin.key"});
    } else {
      argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token});
    }
    if (!body.is_null()) {
      std::string file = dir_.path() + "/body-" + std::to_string(++bodies_) + ".json";
      std::ofstream(file) << body.dump();
      argv.insert(argv.end(), {"-H", "Content-Type: " + content_type, "--data-binary", "@" + file});
    }
    argv.push_back(server() + path);
    auto r = run_command(argv, 30000);
    ApiResult out;
    auto nl = r.output.rfind('\n');
    if (nl == std::string::npos) return out;
    out.code = std::atoi(r.output.c_str() + nl + 1);
    out.text = r.output.substr(0, nl);
    auto j = nlohmann::json::parse(out.text, nullptr, false);
    out.body = j.is_discarded() ? nlohmann::json() : j;
    return out;
  }
  ApiResult get(const std::string& path) { return request("GET", path); }
  ApiResult merge_patch(const std::string& path, const nlohmann::json& patch) {
    return request("PATCH", path, patch, "application/merge-patch+json");
  }

  // The machine's kubectl as the admin.
  CommandResult kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig(), "--cache-dir",
                                     dir_.path() + "/kubectl-cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 30000);
  }

 private:
  TempDir dir_;
  std::string state_, skip_, error_;
  int port_ = 0;
  int bodies_ = 0;
};

// The test binary's control plane, registered as a global Environment on first use.
inline KubeControlPlane& control_plane() {
  static auto* env =
      static_cast<KubeControlPlane*>(::testing::AddGlobalTestEnvironment(new KubeControlPlane));
  return *env;
}
// Registered while the binary starts, so that it is up before its first test.
inline const bool kControlPlaneRegistered = (control_plane(), true);

}  // namespace kc::test::e2e

// In a test or a fixture's SetUp: skip when the control plane cannot run here, fail when it
// should have and did not come up.
#define KC_REQUIRE_CONTROL_PLANE()                                           \
  do {                                                                       \
    auto& kc_cp_ = ::kc::test::e2e::control_plane();                         \
    if (!kc_cp_.skip_reason().empty()) GTEST_SKIP() << kc_cp_.skip_reason(); \
    ASSERT_TRUE(kc_cp_.error().empty()) << kc_cp_.error();                   \
  } while (0)
