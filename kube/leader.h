// Lease leader election as client-go's tools/leaderelection does it (15 s lease, 10 s renew
// deadline, 2 s retry with jitter 1.2): expiry is judged from when this process last saw
// the Lease record change, on its own steady clock, never from the renewTime written by
// another machine, so clock skew between replicas cannot make two leaders. A leader that
// cannot renew within the deadline stops leading (the caller exits, as controller-runtime
// does), at least five seconds before any other replica could take over. On shutdown the
// leader releases the Lease (holder "", duration 1 s) so a standby takes over at once.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/lifetime.h"
#include "kube/rest_client.h"

namespace kc::kube {

struct LeaderOptions {
  std::string ns;
  std::string name;
  std::string identity;  // hostname + "_" + random, unique per process
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  double jitter = 1.2;
};

struct LeaderCallbacks {
  std::function<void()> started;                   // we became the leader
  std::function<void()> stopped;                   // we lost (or released) leadership
  std::function<void(const std::string&)> leader;  // the observed holder changed
};

class LeaderElector {
 public:
  LeaderElector(RestClient& client, LeaderOptions options, LeaderCallbacks callbacks);
  ~LeaderElector();

  void start();
  // Stops campaigning; when leading, gives the Lease up first. `done` runs once finished.
  void release(std::function<void()> done);

  bool leading() const { return leading_; }
  // A read or write of the Lease is out (tests time release() against a renewal with it).
  bool request_in_flight() const { return in_flight_; }
  const std::string& observed_holder() const { return observed_holder_; }
  const std::string& identity() const { return options_.identity; }
  uint64_t slowpath_total() const { return slowpath_; }

 private:
  using Clock = std::chrono::steady_clock;
  void tick();
  void schedule(std::chrono::milliseconds delay);
  void try_acquire_or_renew(std::function<void(bool)> done);
  void slow_path(std::function<void(bool)> done);
  void put(nlohmann::json lease, std::function<void(bool)> done);
  void observe(const nlohmann::json& lease);
  nlohmann::json spec_for(const nlohmann::json* old, bool keep_acquire) const;
  void lose();
  void release_now();

  RestClient& client_;
  LeaderOptions options_;
  LeaderCallbacks callbacks_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  bool leading_ = false;
  bool in_flight_ = false;
  nlohmann::json observed_;   // the last Lease object we read or wrote
  std::string observed_raw_;  // its spec, serialised, to notice changes
  Clock::time_point observed_time_{};
  std::string observed_holder_;
  Clock::time_point last_renew_{};
  uint64_t slowpath_ = 0;
  std::function<void()> release_done_;  // set from release() until the release is sent
  LifetimeToken lifetime_;
};

}  // namespace kc::kube
