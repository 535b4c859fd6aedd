#include "agent/rpc/log_source.h"

#include <boost/asio/post.hpp>
#include <map>

namespace kc::rpc {

namespace {

class ProcessLogSource : public LogSource {
 public:
  explicit ProcessLogSource(boost::asio::io_context& io)
      : io_(io), state_(std::make_shared<State>()) {
    std::weak_ptr<State> weak = state_;
    // One kc::log subscription for all monitors; lines are copied onto the loop.
    log_id_ = kc::log::subscribe([weak, &io = io_](const kc::log::Line& line) {
      boost::asio::post(io, [weak, line] {
        auto state = weak.lock();
        if (!state) return;
        // Copy the ids first: a callback may unsubscribe (itself or others).
        std::vector<uint64_t> ids;
        for (auto& [id, cb] : state->subscribers) ids.push_back(id);
        for (uint64_t id : ids) {
          auto it = state->subscribers.find(id);
          if (it != state->subscribers.end()) it->second(line);
        }
      });
    });
  }
  ~ProcessLogSource() override { kc::log::unsubscribe(log_id_); }

  std::vector<kc::log::Line> recent() override { return kc::log::recent_lines(); }
  uint64_t subscribe(std::function<void(const kc::log::Line&)> callback) override {
    uint64_t id = state_->next_id++;
    state_->subscribers[id] = std::move(callback);
    return id;
  }
  void unsubscribe(uint64_t id) override { state_->subscribers.erase(id); }

 private:
  struct State {
    std::map<uint64_t, std::function<void(const kc::log::Line&)>> subscribers;
    uint64_t next_id = 1;
  };
  boost::asio::io_context& io_;
  std::shared_ptr<State> state_;
  int log_id_ = 0;
};

}  // namespace

std::unique_ptr<LogSource> make_process_log_source(boost::asio::io_context& io) {
  return std::make_unique<ProcessLogSource>(io);
}

}  // namespace kc::rpc
