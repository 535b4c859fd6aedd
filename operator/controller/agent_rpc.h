// Talking to agents over their Serf RPC from the controller. The project's RPC client is
// blocking (it serves the CLI), so calls run on a small thread pool and their results are
// posted back to the io_context: like cpprestsdk's pool, the workers touch no controller
// state. Each call opens its own connection with short timeouts, so one hung agent costs
// one worker for a few seconds and never stalls the event loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/lifetime.h"
#include "operator/controller/agent_api.h"
#include "operator/controller/mapping.h"

namespace kc::controller {

struct AgentRpcOptions {
  std::string auth_key;  // the agents' cluster_rpc_auth token
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds reply_timeout{5000};
  size_t threads = 4;
};

class AgentRpc : public AgentApi {
 public:
  AgentRpc(boost::asio::io_context& io, AgentRpcOptions options);
  ~AgentRpc() override;  // waits for running calls (bounded by the timeouts)

  // `addr` is "ip:port" of an agent's RPC.
  void members(const std::string& addr, MembersDone done) override;
  void force_leave_prune(const std::string& addr, const std::string& node, bool confirmed_gone,
                         Done done) override;
  const std::string& auth_key() const override { return options_.auth_key; }

 private:
  boost::asio::io_context& io_;
  AgentRpcOptions options_;
  boost::asio::thread_pool pool_;
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
