// Native delivery of Serf events to the local Kong node's Admin API, replacing Kong 0.x's
// serf_event.sh + resty pipeline: `POST /cluster/events/` with the JSON that script sent.
// Member events become {"type":"member-join","entity":"NAME\tIP\tROLE\tTAGS..."} (the handler
// stdin, trailing newlines removed as the shell's `cat` substitution did); user events named
// "kong" are posted verbatim (Kong's own {"type","collection","primary_key","entity"}).
// Events go out one at a time in order, from a bounded queue; a refused connection, a
// timeout or a 5xx is retried with exponential backoff; a 4xx means Kong rejected the event
// and it is dropped (and counted), as is an event that exhausted its attempts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "agent/serf/event.h"
#include "common/backoff.h"
#include "common/http/client.h"
#include "common/lifetime.h"

namespace kc::events {

struct KongDeliveryOptions {
  http::Url url;                    // cluster_kong_admin_url
  std::string user_event = "kong";  // Kong's handler filter was user:kong
  size_t queue_limit = 1024;
  std::chrono::milliseconds timeout{5000};  // per attempt; Kong's script used 5 s
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  int max_attempts = 12;  // about four minutes of retries at the cap
};

struct KongDeliveryStats {
  uint64_t delivered = 0;  // 2xx
  uint64_t rejected = 0;   // 4xx: not retried
  uint64_t dropped = 0;    // queue full, attempts exhausted, or stopped
  uint64_t attempts = 0;   // requests sent
  uint64_t retries = 0;    // attempts after a failed one
  double seconds_sum = 0;  // summed attempt latency
  size_t queued = 0;       // waiting, including the one in flight
};

class KongDelivery {
 public:
  KongDelivery(boost::asio::io_context& io, KongDeliveryOptions options);
  ~KongDelivery();

  // Queues the event if Kong consumes it (member events, the `kong` user event).
  void offer(const serf::Event& e);
  void stop();

  const KongDeliveryStats& stats() const { return stats_; }
  // The body Kong's handler would have posted, or nullopt for events Kong ignores.
  static std::optional<std::string> body_for(const serf::Event& e, const std::string& user_event);

 private:
  struct Item {
    std::string type;  // for logs
    std::string body;
    int attempts = 0;
  };
  void send_next();
  void on_result(const std::string& error, unsigned status,
                 std::chrono::steady_clock::duration took);
  void retry_later();

  boost::asio::io_context& io_;
  KongDeliveryOptions options_;
  Backoff backoff_;  // only its doubling: retry_later() jitters both ways
  std::deque<Item> queue_;
  boost::asio::steady_timer retry_timer_;
  bool in_flight_ = false;
  bool waiting_retry_ = false;
  bool stopped_ = false;
  KongDeliveryStats stats_;
  uint64_t overflow_drops_ = 0;
  std::mt19937 rng_{std::random_device{}()};
  LifetimeToken lifetime_;
};

}  // namespace kc::events
