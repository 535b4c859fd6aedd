// Prometheus metrics for one process: a prometheus-cpp registry for metrics we update as
// things happen (counters, gauges, histograms), plus families read at scrape time from
// counters other components already keep as plain fields (gossip, RPC, datastore), so those
// components need no metrics dependency. Exposed in the text format 0.0.4 by our own HTTP
// server (no civetweb).
#pragma once

#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kc::http {
class Router;
}

namespace kc::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

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

  // For metrics updated in place: prometheus::BuildCounter().Name(..).Register(prom()).
  prometheus::Registry& prom() { return *prom_; }

  // Families computed when scraped. `read` runs on the event loop during the scrape, must be
  // cheap and must not throw. Names are checked (std::invalid_argument) and must be unique.
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
  class Callbacks;
  void check_new(const std::string& name) const;

  std::shared_ptr<prometheus::Registry> prom_;
  std::unique_ptr<Callbacks> callbacks_;
};

// GET `path` on `router` answers with `registry`'s exposition.
void add_metrics_route(http::Router& router, const Registry& registry,
                       const std::string& path = "/metrics");

// process_* metrics as Prometheus' client libraries export them (CPU, memory, descriptors,
// start time), read from /proc/self.
void add_process_metrics(Registry& registry);

}  // namespace kc::metrics
