// The text exposition writer (common/metrics/text_writer): escaping, numbers, histograms,
// summaries, and every kind of family read back by Prometheus' own parser (promtool).
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

#include "common/metrics/text_writer.h"
#include "support/promtool.h"

using namespace kc::metrics;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST(MetricsText, IntegersWrittenInFull) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-42), "-42");
  EXPECT_EQ(format_value(1e6), "1000000");
  EXPECT_EQ(format_value(4294967296.0), "4294967296");
  EXPECT_EQ(format_value(9007199254740992.0), "9007199254740992");  // 2^53
}

TEST(MetricsText, FractionsReadBackExactly) {
  EXPECT_EQ(format_value(1.5), "1.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.001), "0.001");
  for (double v : {1.0 / 3, 1e-9, 6.02214076e23, -2.5e-300, 1.7976931348623157e308}) {
    auto text = format_value(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(MetricsText, SpecialValuesSpelledAsPrometheusDoes) {
  EXPECT_EQ(format_value(kNaN), "NaN");
  EXPECT_EQ(format_value(kInf), "+Inf");
  EXPECT_EQ(format_value(-kInf), "-Inf");
}

TEST(MetricsText, LabelValuesEscaped) {
  EXPECT_EQ(escape_label_value("plain /path"), "plain /path");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_label_value("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");  // UTF-8 as is
}

TEST(MetricsText, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(escape_help("say \"hi\"\\now\nthen"), "say \"hi\"\\\\now\\nthen");
}

TEST(MetricsText, HeaderAndSamples) {
  TextWriter w;
  w.header("kc_things_total", "Things\nseen.", MetricType::counter);
  w.sample("kc_things_total", {}, 2);
  w.sample("kc_things_total", {{"kind", "a\"b"}, {"zone", "z"}}, 0.5);
  EXPECT_EQ(w.text(),
            "# HELP kc_things_total Things\\nseen.\n"
            "# TYPE kc_things_total counter\n"
            "kc_things_total 2\n"
            "kc_things_total{kind=\"a\\\"b\",zone=\"z\"} 0.5\n");
}

TEST(MetricsText, HistogramBucketsCumulativeThenSumAndCount) {
  TextWriter w;
  w.header("kc_wait_seconds", "Waits.", MetricType::histogram);
  const std::vector<double> bounds{0.005, 0.5, 10};
  const std::vector<uint64_t> counts{1, 0, 2, 3};
  w.histogram("kc_wait_seconds", {{"route", "/x"}}, bounds, counts, 42.25);
  w.histogram("kc_wait_seconds", {}, bounds, std::vector<uint64_t>{0, 0, 0, 0}, 0);
  EXPECT_EQ(w.text(),
            "# HELP kc_wait_seconds Waits.\n"
            "# TYPE kc_wait_seconds histogram\n"
            "kc_wait_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n"
            "kc_wait_seconds_bucket{route=\"/x\",le=\"0.5\"} 1\n"
            "kc_wait_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"
            "kc_wait_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6\n"
            "kc_wait_seconds_sum{route=\"/x\"} 42.25\n"
            "kc_wait_seconds_count{route=\"/x\"} 6\n"
            "kc_wait_seconds_bucket{le=\"0.005\"} 0\n"
            "kc_wait_seconds_bucket{le=\"0.5\"} 0\n"
            "kc_wait_seconds_bucket{le=\"10\"} 0\n"
            "kc_wait_seconds_bucket{le=\"+Inf\"} 0\n"
            "kc_wait_seconds_sum 0\n"
            "kc_wait_seconds_count 0\n");
}

TEST(MetricsText, SummaryHasSumAndCount) {
  TextWriter w;
  w.header("kc_query_seconds", "Queries.", MetricType::summary);
  w.summary("kc_query_seconds", {{"op", "select"}}, 18446744073709551615u, 1.25);
  EXPECT_EQ(w.text(),
            "# HELP kc_query_seconds Queries.\n"
            "# TYPE kc_query_seconds summary\n"
            "kc_query_seconds_sum{op=\"select\"} 1.25\n"
            "kc_query_seconds_count{op=\"select\"} 18446744073709551615\n");
}

TEST(MetricsText, EveryKindParsedAndLintedCleanByPromtool) {
  TextWriter w;
  w.header("kc_events_total", "Events, by \"kind\".\nSecond line \\ with a backslash.",
           MetricType::counter);
  w.sample("kc_events_total", {{"kind", "quote\" backslash\\ newline\n end"}}, 1e6);
  w.sample("kc_events_total", {{"kind", "big"}}, 9007199254740992.0);
  w.header("kc_level_ratio", "Levels, special values included.", MetricType::gauge);
  w.sample("kc_level_ratio", {{"which", "nan"}}, kNaN);
  w.sample("kc_level_ratio", {{"which", "inf"}}, kInf);
  w.sample("kc_level_ratio", {{"which", "minus_inf"}}, -kInf);
  w.sample("kc_level_ratio", {{"which", "tiny"}}, 1e-300);
  w.sample("kc_level_ratio", {{"which", "third"}}, 1.0 / 3);
  w.header("kc_wait_seconds", "Waits.", MetricType::histogram);
  w.histogram("kc_wait_seconds", {{"route", "/cluster/nodes/:name"}},
              std::vector<double>{0.001, 0.5, 30}, std::vector<uint64_t>{1, 2, 3, 4}, 99.5);
  w.header("kc_query_seconds", "Queries.", MetricType::summary);
  w.summary("kc_query_seconds", {}, 7, 0.125);

  if (!kc::test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  auto check = kc::test::promtool_check_metrics(w.text());
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << w.text();
  EXPECT_EQ(check.output, "");
}
