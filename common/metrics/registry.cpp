#include "common/metrics/registry.h"

#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/http/router.h"

namespace kc::metrics {

namespace {

prometheus::ClientMetric to_metric(const Labels& labels) {
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, v});
  return m;
}

}  // namespace

// The scrape-time families, collected alongside the prometheus-cpp registry.
class Registry::Callbacks : public prometheus::Collectable {
 public:
  using Read = std::function<prometheus::MetricFamily()>;
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(reads.size());
    for (auto& r : reads) out.push_back(r());
    return out;
  }
  std::vector<Read> reads;
  std::set<std::string> names;
};

Registry::Registry()
    : prom_(std::make_shared<prometheus::Registry>(prometheus::Registry::InsertBehavior::Throw)),
      callbacks_(std::make_unique<Callbacks>()) {}

Registry::~Registry() = default;

void Registry::check_new(const std::string& name) const {
  if (!prometheus::CheckMetricName(name))
    throw std::invalid_argument("invalid metric name '" + name + "'");
  if (callbacks_->names.contains(name))
    throw std::invalid_argument("metric '" + name + "' registered twice");
}

void Registry::add_counter(std::string name, std::string help,
                           std::function<std::vector<Sample>()> read) {
  check_new(name);
  callbacks_->names.insert(name);
  callbacks_->reads.emplace_back(
      [name = std::move(name), help = std::move(help), read = std::move(read)] {
        prometheus::MetricFamily f{name, help, prometheus::MetricType::Counter, {}};
        for (auto& s : read()) {
          auto m = to_metric(s.labels);
          m.counter.value = s.value;
          f.metric.push_back(std::move(m));
        }
        return f;
      });
}

void Registry::add_gauge(std::string name, std::string help,
                         std::function<std::vector<Sample>()> read) {
  check_new(name);
  callbacks_->names.insert(name);
  callbacks_->reads.emplace_back(
      [name = std::move(name), help = std::move(help), read = std::move(read)] {
        prometheus::MetricFamily f{name, help, prometheus::MetricType::Gauge, {}};
        for (auto& s : read()) {
          auto m = to_metric(s.labels);
          m.gauge.value = s.value;
          f.metric.push_back(std::move(m));
        }
        return f;
      });
}

void Registry::add_summary(std::string name, std::string help,
                           std::function<std::vector<SummarySample>()> read) {
  check_new(name);
  callbacks_->names.insert(name);
  callbacks_->reads.emplace_back(
      [name = std::move(name), help = std::move(help), read = std::move(read)] {
        prometheus::MetricFamily f{name, help, prometheus::MetricType::Summary, {}};
        for (auto& s : read()) {
          auto m = to_metric(s.labels);
          m.summary.sample_count = s.count;
          m.summary.sample_sum = s.sum;
          f.metric.push_back(std::move(m));
        }
        return f;
      });
}

void Registry::add_counter(std::string name, std::string help, std::function<double()> read) {
  add_counter(std::move(name), std::move(help), [read = std::move(read)] {
    return std::vector<Sample>{{{}, read()}};
  });
}

void Registry::add_gauge(std::string name, std::string help, std::function<double()> read) {
  add_gauge(std::move(name), std::move(help), [read = std::move(read)] {
    return std::vector<Sample>{{{}, read()}};
  });
}

std::string Registry::text() const {
  auto families = prom_->Collect();
  auto more = callbacks_->Collect();
  families.insert(families.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  std::sort(families.begin(), families.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

void add_metrics_route(http::Router& router, const Registry& registry, const std::string& path) {
  router.add("GET", path, [&registry](http::Request&, const http::Reply& reply) {
    reply(http::text_response(200, registry.text(), kTextContentType));
  });
}

}  // namespace kc::metrics
