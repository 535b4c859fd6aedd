// A canned rpc::AgentApi for fuzz targets: answers every call, asynchronously where the real
// agent would, and delivers the events it is asked to emit, so a target exercises its
// decoder and state machine without a cluster.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <map>

#include "agent/rpc/agent_api.h"

namespace kc::fuzz {

using namespace kc::rpc;
namespace asio = boost::asio;

class StubAgent : public AgentApi {
 public:
  explicit StubAgent(asio::io_context& io) : io_(io) {}
  std::vector<MemberInfo> members() override {
    MemberInfo m;
    m.name = "a";
    m.addr = {127, 0, 0, 1};
    m.port = 7946;
    m.tags = {{"role", "x"}};
    m.status = "alive";
    return {m, m};
  }
  void join(const std::vector<std::string>&, bool, std::function<void(int, Error)> done) override {
    asio::post(io_, [done] { done(1, ""); });
  }
  void force_leave(const std::string&, bool, std::function<void(Error)> done) override {
    asio::post(io_, [done] { done("no such node"); });
  }
  void leave(std::function<void(Error)> done) override {
    asio::post(io_, [done] { done(""); });
  }
  void shutdown() override {}
  Error user_event(const std::string& name, const Bytes& payload, bool coalesce) override {
    emit(UserEvent{++ltime_, name, payload, coalesce});
    return "";
  }
  Tags local_tags() override { return {{"role", "x"}}; }
  Error set_tags(const Tags&) override { return ""; }
  void key_op(KeyOp, const std::string&, std::function<void(KeyResult)> done) override {
    asio::post(io_, [done] {
      done(KeyResult{"1/1 nodes reported failure", {{"a", "m"}}, {{"k", 1}}, 1, 1, 1});
    });
  }
  Error query(const QueryParams& p, std::function<void(const QueryRecord&)> on_record,
              std::function<void()> on_done) override {
    emit(QueryEvent{++ltime_, p.name, p.payload, ++handle_,
                    std::chrono::steady_clock::now() + std::chrono::seconds(1)});
    asio::post(io_, [on_record, on_done] {
      on_record(QueryRecord{QueryRecord::Type::Ack, "a", {}});
      on_record(QueryRecord{QueryRecord::Type::Response, "a", {1, 2}});
      on_done();
    });
    return "";
  }
  Error respond(uint64_t, const Bytes&) override { return "response already sent"; }
  uint64_t subscribe_events(std::function<void(const Event&)> cb) override {
    subs_[++next_] = std::move(cb);
    return next_;
  }
  void unsubscribe_events(uint64_t id) override { subs_.erase(id); }
  std::map<std::string, std::map<std::string, std::string>> stats() override {
    return {{"agent", {{"name", "a"}}}};
  }
  std::optional<Coordinate> coordinate(const std::string& node) override {
    if (node.empty()) return std::nullopt;
    return Coordinate{{0.5, 0.25}, 1.5, 0, 1e-5};
  }
  void emit(Event e) {
    asio::post(io_, [this, e = std::move(e)] {
      auto subs = subs_;
      for (auto& [id, cb] : subs)
        if (subs_.count(id)) cb(e);
    });
  }
  size_t subscribers() const { return subs_.size(); }

 private:
  asio::io_context& io_;
  std::map<uint64_t, std::function<void(const Event&)>> subs_;
  uint64_t next_ = 0, ltime_ = 0, handle_ = 0;
};

}  // namespace kc::fuzz
