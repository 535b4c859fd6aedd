#include "common/metrics/names.h"

#include <algorithm>

namespace kc::metrics {

namespace {

// ASCII only: the locale must not widen what a name may hold.
bool is_letter_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool starts_valid(std::string_view name) {
  return !name.empty() && !is_digit(name.front()) && !name.starts_with("__");
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  return starts_valid(name) && std::all_of(name.begin(), name.end(), [](char c) {
           return is_letter_or_underscore(c) || is_digit(c) || c == ':';
         });
}

bool valid_label_name(std::string_view name, MetricType type) {
  if (type == MetricType::histogram && name == "le") return false;
  if (type == MetricType::summary && name == "quantile") return false;
  return starts_valid(name) && std::all_of(name.begin(), name.end(), [](char c) {
           return is_letter_or_underscore(c) || is_digit(c);
         });
}

}  // namespace kc::metrics
