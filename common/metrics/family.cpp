#include "common/metrics/family.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/metrics/names.h"

namespace kc::metrics {

void Histogram::observe(double value) {
  auto bucket = std::find_if(bounds_.begin(), bounds_.end(),
                             [value](double bound) { return value <= bound; });
  ++counts_[static_cast<size_t>(bucket - bounds_.begin())];
  sum_ += value;
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (auto c : counts_) n += c;
  return n;
}

void check_bounds(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]))
      throw std::invalid_argument("histogram bucket bounds must be finite");
    if (i > 0 && !(bounds[i - 1] < bounds[i]))
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
  }
}

void sort_labels(Labels& labels) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

void check_labels(const std::string& family, const Labels& sorted, MetricType type) {
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& name = sorted[i].first;
    if (!valid_label_name(name, type))
      throw std::invalid_argument(std::string("invalid label name '")
                                      .append(name)
                                      .append("' on metric '")
                                      .append(family)
                                      .append("'"));
    if (i > 0 && sorted[i - 1].first == name)
      throw std::invalid_argument(std::string("label '")
                                      .append(name)
                                      .append("' given twice on metric '")
                                      .append(family)
                                      .append("'"));
  }
}

}  // namespace kc::metrics
