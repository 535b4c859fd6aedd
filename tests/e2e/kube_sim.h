// The Kubernetes API simulator (hack/kube-sim) as end-to-end tests use it: started on a free
// port with a kubeconfig written into the test's folder, driven through its `ctl` commands,
// kubectl and plain GETs; stopped by PID with the fixture.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace kc::test::e2e
