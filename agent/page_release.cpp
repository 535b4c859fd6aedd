#include "agent/page_release.h"

#include "common/image_pages.h"
#include "common/logging.h"
#include "common/metrics/registry.h"

namespace kc::agent {

PageRelease::PageRelease(boost::asio::io_context& io, std::chrono::milliseconds interval)
    : timer_(io), interval_(interval) {}

void PageRelease::start() {
  if (interval_.count() > 0) arm();
}

void PageRelease::stop() {
  stopped_ = true;
  timer_.cancel();
}

void PageRelease::arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    release();
  });
}

void PageRelease::release() {
  auto r = image_pages::release_read_only();
  auto log = kc::log::get("agent");
  if (!r.error.empty()) {
    log->warn("page release stopped: {}", r.error);
    return;
  }
  size_t heap = image_pages::release_free_heap();
  ++releases_;
  resident_bytes_released_ += r.resident_bytes + heap;
  log->debug(
      "returned {} KiB of resident code and constants ({} KiB mapped) and {} KiB of free "
      "heap to the kernel",
      r.resident_bytes / 1024, r.mapped_bytes / 1024, heap / 1024);
  arm();
}

void PageRelease::export_metrics(metrics::Registry& r) const {
  r.add_counter("kong_cluster_agent_page_releases_total",
                "Times the agent returned its unused code and constant pages, and its free heap, "
                "to the kernel",
                [this] { return double(releases_); });
  r.add_counter("kong_cluster_agent_page_release_resident_bytes_total",
                "Resident bytes those releases took off the agent's resident set",
                [this] { return double(resident_bytes_released_); });
}

}  // namespace kc::agent
