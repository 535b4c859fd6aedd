// The RPC server's view of the agent (rpc::AgentApi) implemented over the Serf layer.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "agent/rpc/agent_api.h"
#include "agent/serf/serf.h"

namespace kc::agent {

class SerfApi : public rpc::AgentApi {
 public:
  // `on_shutdown` is posted after a `leave` command has been answered.
  SerfApi(serf::Serf& serf, std::function<void()> on_shutdown)
      : serf_(serf), on_shutdown_(std::move(on_shutdown)) {}
  ~SerfApi() override;

  std::vector<rpc::MemberInfo> members() override;
  void join(const std::vector<std::string>& addrs, bool replay,
            std::function<void(int, rpc::Error)> done) override;
  void force_leave(const std::string& node, bool prune,
                   std::function<void(rpc::Error)> done) override;
  void force_leave_gone(const std::string& node, std::function<void(rpc::Error)> done) override;
  void leave(std::function<void(rpc::Error)> done) override;
  void shutdown() override;
  rpc::Error user_event(const std::string& name, const rpc::Bytes& payload, bool coalesce) override;
  rpc::Tags local_tags() override;
  rpc::Error set_tags(const rpc::Tags& tags) override;
  void key_op(rpc::KeyOp op, const std::string& key,
              std::function<void(rpc::KeyResult)> done) override;
  rpc::Error query(const rpc::QueryParams& params,
                   std::function<void(const rpc::QueryRecord&)> on_record,
                   std::function<void()> on_done) override;
  rpc::Error respond(uint64_t handle, const rpc::Bytes& payload) override;
  uint64_t subscribe_events(std::function<void(const rpc::Event&)> callback) override;
  void unsubscribe_events(uint64_t id) override;
  std::map<std::string, std::map<std::string, std::string>> stats() override;
  std::optional<rpc::Coordinate> coordinate(const std::string& node) override;

  static rpc::MemberInfo to_info(const serf::Member& m);

  // `info`'s event_handlers section as serf's agent fills it: "<event>:<name>" of each filter
  // ("member-join:", "user:kong") -> the handler's command, a later handler winning.
  void set_event_handlers(std::map<std::string, std::string> by_filter) {
    event_handlers_ = std::move(by_filter);
  }

 private:
  serf::Serf& serf_;
  std::function<void()> on_shutdown_;
  std::map<uint64_t, int> subscriptions_;  // our id -> serf subscriber id
  uint64_t next_subscription_ = 1;
  // Queries delivered to streams, answerable by handle until their deadline.
  std::map<uint64_t, std::weak_ptr<serf::Query>> pending_queries_;
  uint64_t next_query_handle_ = 1;
  std::map<std::string, std::string> event_handlers_;
};

}  // namespace kc::agent
