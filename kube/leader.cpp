#include "kube/leader.h"

#include <algorithm>
#include <random>

#include "common/logging.h"
#include "common/noexcept_cleanup.h"
#include "kube/resources.h"

namespace kc::kube {

namespace {
std::chrono::milliseconds lease_duration_of(const nlohmann::json& lease) {
  const auto& spec = lease.value("spec", nlohmann::json::object());
  auto v = spec.value("leaseDurationSeconds", 0);
  return std::chrono::seconds(v);
}
}  // namespace

LeaderElector::LeaderElector(RestClient& client, LeaderOptions options, LeaderCallbacks callbacks)
    : client_(client),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      timer_(client.io()) {}

LeaderElector::~LeaderElector() {
  noexcept_cleanup([this] { timer_.cancel(); });
}

void LeaderElector::start() {
  running_ = true;
  tick();
}

void LeaderElector::schedule(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait(lifetime_.wrap([this](boost::system::error_code ec) {
    if (!ec && running_) tick();
  }));
}

// One round: while acquiring, retry every RetryPeriod * (1 + up to 1.2) (wait.JitterUntil);
// while leading, renew every RetryPeriod and give up when no renewal succeeded within
// RenewDeadline.
void LeaderElector::tick() {
  if (leading_ && Clock::now() - last_renew_ >= options_.renew_deadline) {
    lose();
    return;
  }
  if (in_flight_) {
    schedule(options_.retry_period);
    return;
  }
  in_flight_ = true;
  try_acquire_or_renew([this](bool ok) {
    in_flight_ = false;
    if (release_done_) {
      // release() came while this request was out: give the Lease up now, from the object
      // this request saw or wrote.
      release_now();
      return;
    }
    if (!running_) return;
    if (ok) {
      last_renew_ = Clock::now();
      if (!leading_) {
        leading_ = true;
        kc::log::get("leader")->info("became leader of lease {}/{} as {}", options_.ns,
                                     options_.name, options_.identity);
        if (callbacks_.started) callbacks_.started();
      }
      schedule(options_.retry_period);
      return;
    }
    if (leading_) {
      auto left = last_renew_ + options_.renew_deadline - Clock::now();
      if (left <= Clock::duration::zero()) {
        lose();
        return;
      }
      // Retry every RetryPeriod, but wake at the deadline itself (client-go's renew loop is
      // bounded by a RenewDeadline context): stepping down late would eat into the margin
      // before another replica may take over.
      schedule(std::min(options_.retry_period, std::chrono::ceil<std::chrono::milliseconds>(left)));
      return;
    }
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> f(0.0, options_.jitter);
    schedule(std::chrono::milliseconds(static_cast<long long>(
        static_cast<double>(options_.retry_period.count()) * (1.0 + f(rng)))));
  });
}

void LeaderElector::lose() {
  leading_ = false;
  running_ = false;
  kc::log::get("leader")->warn("lost leadership of lease {}/{}: no renewal within {} ms",
                               options_.ns, options_.name, options_.renew_deadline.count());
  if (callbacks_.stopped) callbacks_.stopped();
}

void LeaderElector::observe(const nlohmann::json& lease) {
  auto spec = lease.value("spec", nlohmann::json::object());
  std::string raw = spec.dump();
  if (raw != observed_raw_) {
    observed_raw_ = raw;
    observed_time_ = Clock::now();
  }
  observed_ = lease;
  std::string holder = spec.value("holderIdentity", "");
  if (holder != observed_holder_) {
    observed_holder_ = holder;
    if (callbacks_.leader) callbacks_.leader(holder);
  }
}

nlohmann::json LeaderElector::spec_for(const nlohmann::json* old, bool keep_acquire) const {
  auto now = format_micro_time(std::chrono::system_clock::now());
  nlohmann::json spec = {
      {"holderIdentity", options_.identity},
      {"leaseDurationSeconds",
       std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count()},
      {"acquireTime", now},
      {"renewTime", now},
      {"leaseTransitions", 0}};
  if (old) {
    const auto& o = old->value("spec", nlohmann::json::object());
    int transitions = o.value("leaseTransitions", 0);
    if (keep_acquire) {
      if (o.contains("acquireTime")) spec["acquireTime"] = o["acquireTime"];
      spec["leaseTransitions"] = transitions;
    } else {
      spec["leaseTransitions"] = transitions + 1;
    }
  }
  return spec;
}

void LeaderElector::put(nlohmann::json lease, std::function<void(bool)> done) {
  client_.request("PUT", lease_path(options_.ns, options_.name), lease,
                  lifetime_.wrap([this, done = std::move(done)](const Response& r) {
                    if (!r.ok()) {
                      kc::log::get("leader")->debug("lease update failed: {}", r.describe());
                      done(false);
                      return;
                    }
                    observe(r.body);
                    done(true);
                  }));
}

void LeaderElector::try_acquire_or_renew(std::function<void(bool)> done) {
  // Fast path: we hold it and our view is current; update the cached object directly.
  if (leading_ && observed_holder_ == options_.identity &&
      observed_time_ + lease_duration_of(observed_) > Clock::now()) {
    auto lease = observed_;
    lease["spec"] = spec_for(&observed_, true);
    put(std::move(lease), lifetime_.wrap([this, done](bool ok) {
      if (ok) {
        done(true);
      } else {
        slow_path(done);
      }
    }));
    return;
  }
  slow_path(std::move(done));
}

void LeaderElector::slow_path(std::function<void(bool)> done) {
  ++slowpath_;
  client_.get(lease_path(options_.ns, options_.name), lifetime_.wrap([this, done = std::move(done)](
                                                                         const Response& r) {
    if (r.not_found()) {
      nlohmann::json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                              {"kind", "Lease"},
                              {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                              {"spec", spec_for(nullptr, false)}};
      client_.request("POST", leases_path(options_.ns), lease,
                      lifetime_.wrap([this, done](const Response& c) {
                        if (!c.ok()) {
                          done(false);
                          return;
                        }
                        observe(c.body);
                        done(true);
                      }));
      return;
    }
    if (!r.ok() || !r.body.is_object()) {
      kc::log::get("leader")->debug("lease read failed: {}", r.describe());
      done(false);
      return;
    }
    observe(r.body);
    const auto& spec = r.body.value("spec", nlohmann::json::object());
    std::string holder = spec.value("holderIdentity", "");
    bool mine = holder == options_.identity;
    if (!holder.empty() && !mine && observed_time_ + lease_duration_of(r.body) > Clock::now()) {
      done(false);  // someone else holds a lease that has not expired in our eyes
      return;
    }
    auto lease = r.body;
    lease["spec"] = spec_for(&r.body, mine);
    put(std::move(lease), done);
  }));
}

void LeaderElector::release(std::function<void()> done) {
  running_ = false;
  timer_.cancel();
  release_done_ = std::move(done);
  // A renewal still out would land after a release sent now, and the release (with the
  // resourceVersion from before it) would fail with a conflict, leaving the Lease held by a
  // process that is gone until it expires: wait for it, then release.
  if (!in_flight_) release_now();
}

void LeaderElector::release_now() {
  auto done = std::move(release_done_);
  release_done_ = nullptr;
  if (observed_holder_ != options_.identity) {
    leading_ = false;
    done();
    return;
  }
  auto lease = observed_;
  auto now = format_micro_time(std::chrono::system_clock::now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["acquireTime"] = now;
  lease["spec"]["renewTime"] = now;
  client_.request("PUT", lease_path(options_.ns, options_.name), lease,
                  lifetime_.wrap([this, done = std::move(done)](const Response& r) {
                    leading_ = false;
                    if (r.ok()) observe(r.body);
                    kc::log::get("leader")->info("released lease {}/{}: {}", options_.ns,
                                                 options_.name, r.ok() ? "ok" : r.describe());
                    done();
                  }));
}

}  // namespace kc::kube
