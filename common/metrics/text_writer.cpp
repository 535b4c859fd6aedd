#include "common/metrics/text_writer.h"

#include <fmt/format.h>

#include <cmath>

namespace kc::metrics {

namespace {

void append_escaped(std::string& out, std::string_view in, bool quote) {
  for (char c : in) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

const char* to_string(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
    case MetricType::summary:
      return "summary";
  }
  return "untyped";
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // fmt's shortest round-trip form, in positional notation up to 16 digits, so every integer
  // a double holds exactly (up to 2^53) is written digit for digit.
  return fmt::format("{}", value);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  append_escaped(out, value, true);
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  append_escaped(out, help, false);
  return out;
}

void TextWriter::header(std::string_view name, std::string_view help, MetricType type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += to_string(type);
  out_ += '\n';
}

void TextWriter::line(std::string_view name, std::string_view suffix, const Labels& labels,
                      std::string_view value,
                      const std::pair<std::string_view, std::string>* extra) {
  out_ += name;
  out_ += suffix;
  if (!labels.empty() || extra) {
    char separator = '{';
    auto label = [&](std::string_view key, std::string_view text) {
      out_ += separator;
      out_ += key;
      out_ += "=\"";
      append_escaped(out_, text, true);
      out_ += '"';
      separator = ',';
    };
    for (const auto& [key, text] : labels) label(key, text);
    if (extra) label(extra->first, extra->second);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
  line(name, "", labels, format_value(value));
}

void TextWriter::histogram(std::string_view name, const Labels& labels,
                           std::span<const double> bounds, std::span<const uint64_t> counts,
                           double sum) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::pair<std::string_view, std::string> le{
        "le", i < bounds.size() ? format_value(bounds[i]) : "+Inf"};
    line(name, "_bucket", labels, std::to_string(cumulative), &le);
  }
  line(name, "_sum", labels, format_value(sum));
  line(name, "_count", labels, std::to_string(cumulative));
}

void TextWriter::summary(std::string_view name, const Labels& labels, uint64_t count, double sum) {
  line(name, "_sum", labels, format_value(sum));
  line(name, "_count", labels, std::to_string(count));
}

}  // namespace kc::metrics
