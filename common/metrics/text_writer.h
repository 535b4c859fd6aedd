// Prometheus' text exposition format, version 0.0.4: the HELP and TYPE lines of a family, then
// its series, with label values and help text escaped and numbers spelled so Prometheus'
// parser reads them back exactly. Families are written in the order the caller gives (the
// registry sorts them by name).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kc::metrics {

// A series' labels as (name, value) pairs, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram, summary };

const char* to_string(MetricType type);

class TextWriter {
 public:
  // "# HELP" and "# TYPE" of the family whose series follow.
  void header(std::string_view name, std::string_view help, MetricType type);
  // One line: `name{labels} value` (no braces without labels).
  void sample(std::string_view name, const Labels& labels, double value);
  // A histogram's series: `_bucket` lines with cumulative counts for each upper bound and
  // le="+Inf", then `_sum` and `_count`. `counts` holds each bucket's own count, one more
  // than `bounds` (the last counts what is above every bound).
  void histogram(std::string_view name, const Labels& labels, std::span<const double> bounds,
                 std::span<const uint64_t> counts, double sum);
  // A summary without quantiles: `_sum` and `_count`.
  void summary(std::string_view name, const Labels& labels, uint64_t count, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, std::string_view suffix, const Labels& labels,
            std::string_view value,
            const std::pair<std::string_view, std::string>* extra = nullptr);

  std::string out_;
};

// A sample value as Prometheus reads it: integers in full, others in the shortest form that
// reads back as the same double, NaN, +Inf and -Inf as Prometheus spells them.
std::string format_value(double value);
// A label value between quotes: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);
// Help text: backslash and newline escaped (quotes stay).
std::string escape_help(std::string_view help);

}  // namespace kc::metrics
