#include "common/metrics/registry.h"

#include <stdexcept>

#include "common/http/router.h"
#include "common/metrics/names.h"

namespace kc::metrics {

namespace {

// A family whose series a callback reads at scrape time.
template <class SampleType, MetricType Type>
class ReadFamily final : public Collector {
 public:
  ReadFamily(std::string name, std::string help, std::function<std::vector<SampleType>()> read)
      : name_(std::move(name)), help_(std::move(help)), read_(std::move(read)) {}

  void write(TextWriter& out) const override {
    out.header(name_, help_, Type);
    // Labels in the order the callback gives them.
    for (const auto& s : read_()) {
      if constexpr (Type == MetricType::summary) {
        out.summary(name_, s.labels, s.count, s.sum);
      } else {
        out.sample(name_, s.labels, s.value);
      }
    }
  }

 private:
  std::string name_;
  std::string help_;
  std::function<std::vector<SampleType>()> read_;
};

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::check_new(const std::string& name) const {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  if (families_.contains(name))
    throw std::invalid_argument("metric '" + name + "' registered twice");
}

template <class C, class... Args>
C& Registry::add(std::string name, std::string help, Args&&... args) {
  check_new(name);
  auto family = std::make_unique<C>(name, std::move(help), std::forward<Args>(args)...);
  auto& stored = *family;
  families_.emplace(std::move(name), std::move(family));
  return stored;
}

Family<Counter>& Registry::counter(std::string name, std::string help) {
  return add<Family<Counter>>(std::move(name), std::move(help));
}

Family<Gauge>& Registry::gauge(std::string name, std::string help) {
  return add<Family<Gauge>>(std::move(name), std::move(help));
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<double> bounds) {
  check_bounds(bounds);
  return add<Family<Histogram>>(std::move(name), std::move(help),
                                Histogram::Options{std::move(bounds)});
}

void Registry::add_counter(std::string name, std::string help,
                           std::function<std::vector<Sample>()> read) {
  add<ReadFamily<Sample, MetricType::counter>>(std::move(name), std::move(help), std::move(read));
}

void Registry::add_gauge(std::string name, std::string help,
                         std::function<std::vector<Sample>()> read) {
  add<ReadFamily<Sample, MetricType::gauge>>(std::move(name), std::move(help), std::move(read));
}

void Registry::add_summary(std::string name, std::string help,
                           std::function<std::vector<SummarySample>()> read) {
  add<ReadFamily<SummarySample, MetricType::summary>>(std::move(name), std::move(help),
                                                      std::move(read));
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
  TextWriter out;
  for (const auto& [name, family] : families_) family->write(out);
  return out.take();
}

void add_metrics_route(http::Router& router, const Registry& registry, const std::string& path) {
  router.add("GET", path, [&registry](http::Request&, const http::Reply& reply) {
    reply(http::text_response(200, registry.text(), kTextContentType));
  });
}

}  // namespace kc::metrics
