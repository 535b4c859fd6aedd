// Our agent as a real process with its HTTP API on a free port, plus the HTTP helpers the
// integration tests share.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/cluster_procs.h"
#include "support/wait.h"
#include "unit/http/http_test_util.h"

namespace kc::test {

class HttpAgent {
 public:
  HttpAgent(const TempDir& dir, const std::string& name, std::vector<std::string> extra = {},
            std::vector<std::string> join = {}, std::map<std::string, std::string> tags = {}) {
    http_port_ = free_port();
    GossipAgent::Options o;
    o.kind = GossipAgent::Kind::Ours;
    o.name = name;
    o.profile = "local";  // quick failure detection on loopback
    o.join = std::move(join);
    o.tags = std::move(tags);
    o.extra_args = {"--http-addr", "127.0.0.1:" + std::to_string(http_port_)};
    o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
    agent_ = std::make_unique<GossipAgent>(dir, o);
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  GossipAgent& agent() { return *agent_; }
  const std::string& name() const { return agent_->name(); }

  bool wait_http(std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    return wait_until([&] { return get(base(), "/healthz").response.status == 200; }, timeout,
                      std::chrono::milliseconds(50));
  }
  // GET /cluster parsed; null on any failure.
  nlohmann::json cluster(const std::string& query = "") const {
    auto r = get(base(), "/cluster" + query);
    if (!r.error.empty() || r.response.status != 200) return nullptr;
    return nlohmann::json::parse(r.response.body, nullptr, false);
  }
  std::string status_of(const std::string& member) const {
    auto j = cluster();
    if (!j.is_object()) return "";
    for (auto& m : j["data"])
      if (m["name"] == member) return m["status"];
    return "";
  }

 private:
  int http_port_ = 0;
  std::unique_ptr<GossipAgent> agent_;
};

// The value of one metric series in the agent's /metrics (-1 if absent).
inline double metric(const HttpAgent& a, const std::string& series) {
  auto r = get(a.base(), "/metrics");
  auto& body = r.response.body;
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

// A handler script that writes each run's SERF_* variables (sorted; SERF_SELF_NAME left out
// with `without_self_name`, for comparing runs on different agents) and its stdin to
// dir/run.<pid>.out, renamed into place so a reader never sees half a file.
inline std::string write_dump_script(const std::string& dir, bool without_self_name = false) {
  std::filesystem::create_directories(dir);
  auto path = dir + "/dump.sh";
  std::string env = without_self_name ? "env | grep '^SERF_' | grep -v '^SERF_SELF_NAME=' | sort"
                                      : "env | grep '^SERF_' | sort";
  write_script(path, "#!/bin/sh\nf=" + dir + "/run.$$\n{ " + env +
                         "; echo '--stdin--'; cat; } > $f.tmp\nmv $f.tmp $f.out\n");
  return path;
}

}  // namespace kc::test
