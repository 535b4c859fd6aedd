// Every `interval` the agent hands the executable's read-only pages back to the kernel
// (common/image_pages.h): the code and constants it touched only while starting up, or not
// since the last release, stop counting in its resident set; what it runs again is mapped back
// on first use, a minor fault each 64 KiB of the page cache (docs/benchmarks.md, "Eighth run").
// The heap's free pages go back too (after a mass join, megabytes of freed stream buffers).
// cluster_page_release_interval (0 = never) sets the interval; a debugger's or uprobe's
// breakpoints in the code are lost at a release, so turn it off while using them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>

namespace kc::metrics {
class Registry;
}

namespace kc::agent {

class PageRelease {
 public:
  PageRelease(boost::asio::io_context& io, std::chrono::milliseconds interval);

  // The first release one interval after start(), then one every interval; none when the
  // interval is 0 or a release failed (the reason is logged once).
  void start();
  void stop();
  void export_metrics(metrics::Registry& r) const;

  uint64_t releases() const { return releases_; }

 private:
  void arm();
  void release();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  bool stopped_ = false;
  uint64_t releases_ = 0;
  uint64_t resident_bytes_released_ = 0;
};

}  // namespace kc::agent
