// What the controller asks of the agents, over their Serf RPC: AgentRpc (agent_rpc.h) is the
// real one; the unit tests use a fake holding each agent's view of the membership.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "operator/controller/mapping.h"

namespace kc::controller {

class AgentApi {
 public:
  using MembersDone = std::function<void(std::optional<std::vector<Member>>, std::string error)>;
  using Done = std::function<void(bool ok, std::string error)>;
  virtual ~AgentApi() = default;

  // `addr` is "ip:port" of an agent's RPC.
  virtual void members(const std::string& addr, MembersDone done) = 0;
  // `confirmed_gone`: Kubernetes confirmed the member's pod is gone, so the agents may erase it
  // at once (rpc ForceLeaveRequest::gone) rather than wait out a leave that will never come.
  virtual void force_leave_prune(const std::string& addr, const std::string& node,
                                 bool confirmed_gone, Done done) = 0;
  // The RPC token, also the credential of the agents' HTTP API.
  virtual const std::string& auth_key() const = 0;
};

}  // namespace kc::controller
