// Where `monitor` gets log lines: the recent-line ring to replay and a subscription to new
// lines. The production source wraps common/logging and hops every line onto the event
// loop, because spdlog calls its sinks under a lock on whatever thread logged, and a
// monitor that wrote to its socket (or logged a drop) from there could deadlock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/logging.h"

namespace kc::rpc {

class LogSource {
 public:
  virtual ~LogSource() = default;
  virtual std::vector<kc::log::Line> recent() = 0;
  // The callback runs on the event loop, never inside subscribe().
  virtual uint64_t subscribe(std::function<void(const kc::log::Line&)> callback) = 0;
  virtual void unsubscribe(uint64_t id) = 0;
};

// The process log (kc::log), delivered on `io`.
std::unique_ptr<LogSource> make_process_log_source(boost::asio::io_context& io);

}  // namespace kc::rpc
