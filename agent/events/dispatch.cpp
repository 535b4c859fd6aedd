#include "agent/events/dispatch.h"

#include <stdexcept>

#include "agent/events/child_process.h"
#include "agent/events/kong_delivery.h"
#include "agent/events/orphan_reaper.h"
#include "agent/events/script_handlers.h"
#include "agent/serf/serf.h"
#include "common/http/message.h"
#include "common/logging.h"

namespace kc::events {

EventDispatch::EventDispatch(boost::asio::io_context& io, serf::Serf& serf, DispatchOptions options)
    : io_(io), serf_(serf), options_(std::move(options)) {}

EventDispatch::~EventDispatch() {
  stop();
}

void EventDispatch::start() {
  auto log = kc::log::get("agent");
  if (!options_.event_handlers.empty()) {
    std::vector<HandlerSpec> specs;
    if (auto err = parse_handler_list(options_.event_handlers, specs); !err.empty())
      throw std::runtime_error("cluster_event_handlers: " + err);
    HandlerOptions ho;
    ho.child.timeout = options_.event_handler_timeout;
    ho.max_concurrent = options_.event_handler_concurrency;
    ho.env_allow = options_.handler_env;
    for (auto& s : specs) log->info("event handler: {}", s.to_string());
    handlers_ = std::make_unique<ScriptHandlers>(
        io_, std::move(specs), [this] { return serf_.local_member(); }, ho);
    reaper_ = std::make_unique<OrphanReaper>(io_, &ChildProcess::is_waiting_for);
    reaper_->start();
  }
  if (!options_.kong_admin_url.empty()) {
    std::string err;
    auto url = http::Url::parse(options_.kong_admin_url, &err);
    if (!url) throw std::runtime_error("cluster_kong_admin_url: " + err);
    KongDeliveryOptions ko;
    ko.url = *url;
    kong_ = std::make_unique<KongDelivery>(io_, ko);
    log->info("delivering member events and `kong` user events to {}", options_.kong_admin_url);
  }
  subscription_ = serf_.subscribe([this](const serf::Event& e) { on_event(e); });
}

void EventDispatch::on_event(const serf::Event& e) {
  ++counts_.by_type[serf::to_string(serf::event_type(e))];
  if (handlers_) handlers_->dispatch(e);
  if (kong_) kong_->offer(e);
}

void EventDispatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (subscription_) serf_.unsubscribe(subscription_);
  subscription_ = 0;
  if (handlers_) handlers_->stop();
  if (kong_) kong_->stop();
}

}  // namespace kc::events
