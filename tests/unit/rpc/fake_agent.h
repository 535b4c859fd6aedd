// A scripted AgentApi for the RPC server tests (the server's collaborator, not the unit
// under test). It behaves like serf's agent where the RPC can observe it: events and query
// records are delivered later on the event loop (never inside the call), a query acks from
// every alive member and ends with "done" at its deadline, respond() produces a response
// record. Calls are recorded for assertions; the recording is guarded because tests read it
// from their own thread while the loop runs on another.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/rpc/agent_api.h"

namespace kc::test {

using namespace kc::rpc;

inline MemberInfo make_member(std::string name, std::vector<uint8_t> ip, uint16_t port,
                              Tags tags = {}, std::string status = "alive") {
  MemberInfo m;
  m.name = std::move(name);
  m.addr = std::move(ip);
  m.port = port;
  m.tags = std::move(tags);
  m.status = std::move(status);
  return m;
}

class FakeAgent : public AgentApi {
 public:
  explicit FakeAgent(boost::asio::io_context& io) : io_(io) {
    // The member "r" of the recorded transcript (rpc_transcript.txt).
    member_list = {make_member("r", {127, 0, 0, 1}, 7949, {{"role", "rpc"}})};
    tags = {{"role", "rpc"}};
  }

  // ---- scripted state (set before the loop runs, or from the loop) ----
  std::vector<MemberInfo> member_list;
  Tags tags;
  std::string self = "r";
  int join_num = 1;
  Error join_error;
  Error force_leave_error;
  Error leave_error;
  Error event_error;
  KeyResult key_result{"", {}, {}, 1, 1, 0};
  std::map<std::string, std::map<std::string, std::string>> stats_map = {
      {"agent", {{"name", "r"}}},
      {"runtime",
       {{"os", "linux"},
        {"arch", "amd64"},
        {"version", "go1.19.8"},
        {"max_procs", "2"},
        {"goroutines", "23"},
        {"cpu_count", "2"}}},
      {"serf",
       {{"members", "1"},
        {"failed", "0"},
        {"left", "0"},
        {"health_score", "0"},
        {"member_time", "1"},
        {"event_time", "1"},
        {"query_time", "1"},
        {"intent_queue", "0"},
        {"event_queue", "0"},
        {"query_queue", "0"},
        {"encrypted", "false"},
        {"coordinate_resets", "0"}}},
      {"tags", {{"role", "rpc"}}},
      {"event_handlers", {}}};
  std::map<std::string, Coordinate> coordinates = {
      {"r", Coordinate{std::vector<double>(8, 0.0), 1.5, 0.0, 1e-05}}};
  std::chrono::milliseconds default_query_timeout{500};
  bool query_delivers_to_streams = true;  // serf hands our own queries to local streams too
  std::vector<std::string> no_ack;        // alive members whose acks get lost

  // ---- observations ----
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  bool shutdown_called() {
    std::lock_guard lock(mu_);
    return shutdown_;
  }
  size_t subscribers() {
    std::lock_guard lock(mu_);
    return subs_.size();
  }
  // Delivers an event to every subscriber (call on the loop, or post it).
  void emit(const Event& e) {
    std::map<uint64_t, std::function<void(const Event&)>> subs;
    {
      std::lock_guard lock(mu_);
      subs = subs_;
    }
    for (auto& [id, cb] : subs) {
      bool still = false;
      {
        std::lock_guard lock(mu_);
        still = subs_.count(id) != 0;
      }
      if (still) cb(e);
    }
  }
  void emit_later(Event e) {
    boost::asio::post(io_, [this, e = std::move(e)] { emit(e); });
  }

  // ---- AgentApi ----
  std::vector<MemberInfo> members() override {
    record("members");
    return member_list;
  }
  void join(const std::vector<std::string>& addrs, bool replay,
            std::function<void(int, Error)> done) override {
    std::string joined;
    for (auto& a : addrs) joined += (joined.empty() ? "" : ",") + a;
    record("join " + joined + (replay ? " replay" : ""));
    boost::asio::post(io_, [this, done] { done(join_error.empty() ? join_num : 0, join_error); });
  }
  void force_leave(const std::string& node, bool prune, std::function<void(Error)> done) override {
    record("force-leave " + node + (prune ? " prune" : ""));
    boost::asio::post(io_, [this, done] { done(force_leave_error); });
  }
  void leave(std::function<void(Error)> done) override {
    record("leave");
    boost::asio::post(io_, [this, done] { done(leave_error); });
  }
  void shutdown() override {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  Error user_event(const std::string& name, const Bytes& payload, bool coalesce) override {
    record("event " + name + " " + std::string(payload.begin(), payload.end()) +
           (coalesce ? " coalesce" : ""));
    if (!event_error.empty()) return event_error;
    emit_later(UserEvent{++event_ltime_, name, payload, coalesce});
    return "";
  }
  Tags local_tags() override { return tags; }
  Error set_tags(const Tags& t) override {
    std::string all;
    for (auto& [k, v] : t) all += (all.empty() ? "" : ",") + k + "=" + v;
    record("set-tags " + all);
    tags = t;
    return "";
  }
  void key_op(KeyOp op, const std::string& key, std::function<void(KeyResult)> done) override {
    static const char* const kNames[] = {"install-key", "use-key", "remove-key", "list-keys"};
    record(std::string(kNames[static_cast<int>(op)]) + (key.empty() ? "" : " " + key));
    boost::asio::post(io_, [this, done] { done(key_result); });
  }
  Error query(const QueryParams& p, std::function<void(const QueryRecord&)> on_record,
              std::function<void()> on_done) override {
    record("query " + p.name + (p.request_ack ? " ack" : ""));
    auto timeout = p.timeout.count() > 0
                       ? std::chrono::duration_cast<std::chrono::milliseconds>(p.timeout)
                       : default_query_timeout;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    uint64_t handle = ++query_handle_;
    auto q = std::make_shared<LiveQuery>(LiveQuery{on_record, deadline, false});
    queries_[handle] = q;
    bool internal = p.name.starts_with("_serf_");
    boost::asio::post(io_, [this, p, handle, deadline, q, internal] {
      if (query_delivers_to_streams && !internal)
        emit(QueryEvent{++query_ltime_, p.name, p.payload, handle, deadline});
      if (p.request_ack) {
        for (const auto& m : member_list)
          if (m.status == "alive" &&
              std::find(no_ack.begin(), no_ack.end(), m.name) == no_ack.end())
            q->on_record(QueryRecord{QueryRecord::Type::Ack, m.name, {}});
      }
    });
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, deadline);
    timer->async_wait([this, timer, handle, on_done](boost::system::error_code) {
      queries_.erase(handle);
      on_done();
    });
    return "";
  }
  Error respond(uint64_t handle, const Bytes& payload) override {
    record("respond " + std::string(payload.begin(), payload.end()));
    auto it = queries_.find(handle);
    if (it == queries_.end()) return "response is past the deadline";
    if (it->second->responded) return "response already sent";
    it->second->responded = true;
    auto q = it->second;
    boost::asio::post(io_, [this, q, payload] {
      q->on_record(QueryRecord{QueryRecord::Type::Response, self, payload});
    });
    return "";
  }
  uint64_t subscribe_events(std::function<void(const Event&)> callback) override {
    std::lock_guard lock(mu_);
    subs_[++next_sub_] = std::move(callback);
    return next_sub_;
  }
  void unsubscribe_events(uint64_t id) override {
    std::lock_guard lock(mu_);
    subs_.erase(id);
  }
  std::map<std::string, std::map<std::string, std::string>> stats() override {
    record("stats");
    return stats_map;
  }
  std::optional<Coordinate> coordinate(const std::string& node) override {
    auto it = coordinates.find(node);
    if (it == coordinates.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct LiveQuery {
    std::function<void(const QueryRecord&)> on_record;
    std::chrono::steady_clock::time_point deadline;
    bool responded;
  };
  void record(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(call));
  }

  boost::asio::io_context& io_;
  std::mutex mu_;
  std::vector<std::string> calls_;
  bool shutdown_ = false;
  std::map<uint64_t, std::function<void(const Event&)>> subs_;
  uint64_t next_sub_ = 0;
  uint64_t event_ltime_ = 0;
  uint64_t query_ltime_ = 0;
  uint64_t query_handle_ = 0;
  std::map<uint64_t, std::shared_ptr<LiveQuery>> queries_;
};

}  // namespace kc::test
