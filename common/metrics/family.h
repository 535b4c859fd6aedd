// Metrics updated as things happen: counters, gauges and histograms with fixed buckets, each
// kept as a family of series told apart by their labels. No locks: each process updates and
// scrapes its metrics on its one event loop.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/metrics/text_writer.h"

namespace kc::metrics {

// A family the registry writes into a scrape.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void write(TextWriter& out) const = 0;
};

class Counter {
 public:
  static constexpr MetricType type = MetricType::counter;
  struct Options {};
  explicit Counter(const Options&) {}

  // A counter only goes up: negative (and NaN) amounts are ignored.
  void increment(double by = 1) {
    if (by > 0) value_ += by;
  }
  double value() const { return value_; }
  void write(std::string_view name, const Labels& labels, TextWriter& out) const {
    out.sample(name, labels, value_);
  }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  static constexpr MetricType type = MetricType::gauge;
  struct Options {};
  explicit Gauge(const Options&) {}

  void set(double value) { value_ = value; }
  void increment(double by = 1) { value_ += by; }
  void decrement(double by = 1) { value_ -= by; }
  double value() const { return value_; }
  void write(std::string_view name, const Labels& labels, TextWriter& out) const {
    out.sample(name, labels, value_);
  }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  static constexpr MetricType type = MetricType::histogram;
  // Upper bounds, strictly increasing and finite; +Inf is implied.
  struct Options {
    std::vector<double> bounds;
  };
  // `options` must outlive the histogram (its family holds both).
  explicit Histogram(const Options& options)
      : bounds_(options.bounds), counts_(options.bounds.size() + 1, 0) {}

  // Into the first bucket whose bound is >= value; NaN and values above every bound into +Inf.
  void observe(double value);
  uint64_t count() const;
  double sum() const { return sum_; }
  // Each bucket's own count (not cumulative), the last one for +Inf.
  std::span<const uint64_t> bucket_counts() const { return counts_; }
  void write(std::string_view name, const Labels& labels, TextWriter& out) const {
    out.histogram(name, labels, bounds_, counts_, sum_);
  }

 private:
  std::span<const double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
};

// Throws std::invalid_argument unless `bounds` are finite and strictly increasing.
void check_bounds(std::span<const double> bounds);

// By label name, as Prometheus' own clients write them.
void sort_labels(Labels& labels);
// Throws std::invalid_argument naming `family` on a bad or repeated label name.
void check_labels(const std::string& family, const Labels& sorted, MetricType type);

// One metric's series by label set, each created at zero on first use.
template <class Metric>
class Family final : public Collector {
 public:
  Family(std::string name, std::string help, typename Metric::Options options = {})
      : name_(std::move(name)), help_(std::move(help)), options_(std::move(options)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series with `labels` (in any order: they are written sorted by name). A new label set
  // with an invalid or repeated label name throws std::invalid_argument. References stay
  // valid for the family's life.
  Metric& add(Labels labels) {
    sort_labels(labels);
    auto it = series_.find(labels);
    if (it == series_.end()) {
      check_labels(name_, labels, Metric::type);
      it = series_.try_emplace(std::move(labels), options_).first;
    }
    return it->second;
  }

  const std::string& name() const { return name_; }
  void write(TextWriter& out) const override {
    out.header(name_, help_, Metric::type);
    for (const auto& [labels, metric] : series_) metric.write(name_, labels, out);
  }

 private:
  std::string name_;
  std::string help_;
  typename Metric::Options options_;
  std::map<Labels, Metric> series_;
};

}  // namespace kc::metrics
