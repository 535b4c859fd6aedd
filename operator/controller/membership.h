// The gossip membership as the live agents report it over RPC, polled every `poll` while
// active: one agent at a time (starting at a rotating offset) until one answers, since a pod
// can be Running and Ready while its agent is cut off. Only this Kubernetes cluster's members
// are kept (ClusterScope); their incarnations come from the answering agent's HTTP API, as
// Serf's RPC does not carry them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/lifetime.h"
#include "operator/controller/agent_api.h"
#include "operator/controller/agent_pods.h"
#include "operator/controller/cluster_scope.h"
#include "operator/controller/mapping.h"
#include "operator/controller/metrics.h"

namespace spdlog {
class logger;
}

namespace kc::controller {

class Membership {
 public:
  using Clock = std::chrono::steady_clock;
  struct Callbacks {
    std::function<void()> polled;        // an agent's answer replaced members()
    std::function<void()> incarnations;  // members() got fresh incarnation numbers
  };
  Membership(boost::asio::io_context& io, AgentApi& rpc, const AgentPods& pods, Metrics& metrics,
             ClusterScope scope, std::chrono::milliseconds poll, Callbacks callbacks);

  // Polls from now on; fresh() is false until an agent answers.
  void start();
  void stop();
  // Asks the agent at `addr` now, not at the next poll; `then` runs after its answer or error.
  void read_now(const std::string& addr, std::function<void()> then);

  bool fresh() const { return fresh_; }
  const std::map<std::string, Member>& members() const { return members_; }
  const Member* find(const std::string& name) const;
  // Whether `name` is another Kubernetes cluster's member (left to its operator).
  bool foreign(const std::string& name) const { return foreign_names_.contains(name); }
  // The RPC address of the agent members() came from.
  const std::string& source() const { return source_; }
  // `name` was pruned: dropped now, and ignored for a while in the answers of agents that have
  // not heard of the prune yet (so its ClusterNode is not created again).
  void pruned(const std::string& name);

 private:
  void poll();
  void poll_agent(const std::shared_ptr<std::vector<std::string>>& agents, size_t tried);
  void update(std::vector<Member> members);
  void refresh_incarnations(const std::string& rpc_addr);

  boost::asio::io_context& io_;
  AgentApi& rpc_;
  const AgentPods& pods_;
  Metrics& metrics_;
  ClusterScope scope_;
  std::chrono::milliseconds every_;
  Callbacks callbacks_;
  std::shared_ptr<spdlog::logger> log_;
  bool active_ = false;
  bool fresh_ = false;
  bool in_flight_ = false;
  size_t rotor_ = 0;
  std::map<std::string, Member> members_;  // this cluster's members (scope_)
  std::set<std::string> foreign_names_;    // other Kubernetes clusters' members
  std::string source_;
  std::map<std::string, Clock::time_point> pruned_;  // recently pruned member names
  std::map<std::string, uint64_t> incarnations_;     // last known, from an agent's HTTP API
  bool incarnations_in_flight_ = false;
  boost::asio::steady_timer timer_;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
