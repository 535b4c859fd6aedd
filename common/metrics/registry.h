// Prometheus metrics for one process: families we update as things happen (counters, gauges,
// histograms: common/metrics/family.h), plus families read at scrape time from counters other
// components already keep as plain fields (gossip, RPC, datastore), so those components need
// no metrics dependency. Exposed in the text format 0.0.4 (common/metrics/text_writer.h) by
// our own HTTP server.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics/family.h"
#include "common/metrics/text_writer.h"

namespace kc::http {
class Router;
}

namespace kc::metrics {

struct Sample {
  Labels labels;
  double value = 0;
};

// A summary without quantiles (count and sum), for latencies other components accumulate.
struct SummarySample {
  Labels labels;
  uint64_t count = 0;
  double sum = 0;
};

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Families updated in place. Every registration checks the name (std::invalid_argument on
  // a bad one or one already registered); the family lives as long as the registry.
  Family<Counter>& counter(std::string name, std::string help);
  Family<Gauge>& gauge(std::string name, std::string help);
  // `bounds`: the buckets' upper bounds, finite and strictly increasing.
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds);

  // Families computed when scraped. `read` runs on the event loop during the scrape, must be
  // cheap and must not throw.
  void add_counter(std::string name, std::string help, std::function<std::vector<Sample>()> read);
  void add_gauge(std::string name, std::string help, std::function<std::vector<Sample>()> read);
  void add_summary(std::string name, std::string help,
                   std::function<std::vector<SummarySample>()> read);
  // One unlabelled series.
  void add_counter(std::string name, std::string help, std::function<double()> read);
  void add_gauge(std::string name, std::string help, std::function<double()> read);

  // The exposition text, families sorted by name.
  std::string text() const;

 private:
  void check_new(const std::string& name) const;
  template <class C, class... Args>
  C& add(std::string name, std::string help, Args&&... args);

  std::map<std::string, std::unique_ptr<Collector>, std::less<>> families_;
};

// GET `path` on `router` answers with `registry`'s exposition.
void add_metrics_route(http::Router& router, const Registry& registry,
                       const std::string& path = "/metrics");

// process_* metrics as Prometheus' client libraries export them (CPU, memory, descriptors,
// start time), read from /proc/self.
void add_process_metrics(Registry& registry);

}  // namespace kc::metrics
