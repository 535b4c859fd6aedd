#include "agent/events/kong_delivery.h"

#include <nlohmann/json.hpp>

#include "agent/events/invocation.h"
#include "common/logging.h"
#include "common/noexcept_cleanup.h"

namespace kc::events {

KongDelivery::KongDelivery(boost::asio::io_context& io, KongDeliveryOptions options)
    : io_(io),
      options_(std::move(options)),
      backoff_(options_.initial_backoff, options_.max_backoff, 0.0),
      retry_timer_(io) {}

KongDelivery::~KongDelivery() {
  noexcept_cleanup([this] { stop(); });
  lifetime_.end();
}

std::optional<std::string> KongDelivery::body_for(const serf::Event& e,
                                                  const std::string& user_event) {
  if (auto* m = std::get_if<serf::MemberEvent>(&e)) {
    auto entity = member_event_input(*m);
    while (!entity.empty() && entity.back() == '\n') entity.pop_back();
    nlohmann::ordered_json j;
    j["type"] = serf::to_string(m->type);
    j["entity"] = entity;
    // Member names and tags come from the network: invalid UTF-8 is replaced, not thrown.
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  if (auto* u = std::get_if<serf::UserEvent>(&e); u && u->name == user_event) {
    std::string body(u->payload.begin(), u->payload.end());
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return body;
  }
  return std::nullopt;
}

void KongDelivery::offer(const serf::Event& e) {
  if (stopped_) return;
  auto body = body_for(e, options_.user_event);
  if (!body) return;
  if (queue_.size() >= options_.queue_limit) {
    // Drop the oldest waiting event (not the one in flight): later invalidations matter more
    // than old ones for the same entities.
    auto victim = in_flight_ || waiting_retry_ ? std::next(queue_.begin()) : queue_.begin();
    if (victim != queue_.end()) {
      // Logged once per 100 drops: a flood must not also flood the log.
      if (overflow_drops_++ % 100 == 0)
        kc::log::get("agent")->error(
            "Kong Admin API is {} events behind; dropping the oldest ({} dropped so far)",
            queue_.size(), overflow_drops_);
      queue_.erase(victim);
      ++stats_.dropped;
    }
  }
  queue_.push_back({serf::to_string(serf::event_type(e)), std::move(*body), 0});
  stats_.queued = queue_.size();
  if (!in_flight_ && !waiting_retry_) send_next();
}

void KongDelivery::send_next() {
  if (stopped_ || queue_.empty()) return;
  auto& item = queue_.front();
  ++item.attempts;
  ++stats_.attempts;
  if (item.attempts > 1) ++stats_.retries;
  in_flight_ = true;
  http::ClientRequest req;
  req.method = "POST";
  req.target = options_.url.base_path + "/cluster/events/";
  req.headers["Content-Type"] = "application/json";
  req.body = item.body;
  req.timeout = options_.timeout;
  auto started = std::chrono::steady_clock::now();
  http::async_request(io_, options_.url, std::move(req),
                      [this, alive = lifetime_.watch(), started](const std::string& error,
                                                                 const http::ClientResponse& res) {
                        if (alive.expired()) return;
                        on_result(error, res.status, std::chrono::steady_clock::now() - started);
                      });
}

void KongDelivery::on_result(const std::string& error, unsigned status,
                             std::chrono::steady_clock::duration took) {
  in_flight_ = false;
  if (stopped_ || queue_.empty()) return;
  stats_.seconds_sum += std::chrono::duration<double>(took).count();
  auto log = kc::log::get("agent");
  auto& item = queue_.front();
  bool retryable = !error.empty() || status >= 500 || status == 408 || status == 429;
  if (error.empty() && status >= 200 && status < 300) {
    ++stats_.delivered;
    log->debug("delivered {} event to Kong ({})", item.type, status);
  } else if (!retryable) {
    ++stats_.rejected;
    log->error("Kong Admin API rejected a {} event with status {}: {}", item.type, status,
               item.body);
  } else if (item.attempts >= options_.max_attempts) {
    ++stats_.dropped;
    log->error("giving up on a {} event for Kong after {} attempts ({})", item.type, item.attempts,
               error.empty() ? "status " + std::to_string(status) : error);
  } else {
    log->warn("could not deliver a {} event to Kong at {} ({}); attempt {} of {}", item.type,
              options_.url.host_header(),
              error.empty() ? "status " + std::to_string(status) : error, item.attempts,
              options_.max_attempts);
    return retry_later();
  }
  queue_.pop_front();
  stats_.queued = queue_.size();
  send_next();
}

void KongDelivery::retry_later() {
  int attempts = queue_.front().attempts;
  auto base = backoff_.ceiling(attempts - 1);
  // ±20% jitter so agents restarted together do not retry in step.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(base.count()) * jitter(rng_)));
  waiting_retry_ = true;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this, alive = lifetime_.watch()](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    waiting_retry_ = false;
    send_next();
  });
}

void KongDelivery::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_timer_.cancel();
  stats_.dropped += queue_.size();
  queue_.clear();
  stats_.queued = 0;
}

}  // namespace kc::events
