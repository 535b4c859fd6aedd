// Which metric and label names a registry accepts: Prometheus' naming rules, and the stricter
// ones prometheus-cpp (which this code replaced) enforced: no leading "__" (Prometheus keeps
// those names for itself), and no "le" label on a histogram nor "quantile" on a summary (the
// format adds those).
#pragma once

#include <string_view>

#include "common/metrics/text_writer.h"

namespace kc::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with "__".
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"; not "le" on a histogram nor "quantile" on a
// summary.
bool valid_label_name(std::string_view name, MetricType type);

}  // namespace kc::metrics
