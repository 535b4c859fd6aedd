// The metrics registry: families updated in place and scrape-time families in one exposition
// sorted by name, name and label checks, histograms' buckets, the /metrics route, process
// metrics, and promtool's verdict when installed.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/http/router.h"
#include "common/metrics/registry.h"
#include "support/promtool.h"

using namespace kc;

TEST(Metrics, CallbackAndUpdatedFamiliesExposedTogether) {
  metrics::Registry r;
  double value = 3;
  r.add_gauge("kc_test_gauge", "A gauge.", [&] { return value; });
  r.add_counter("kc_test_things_total", "Things by kind.", [] {
    return std::vector<metrics::Sample>{{{{"kind", "a"}}, 1}, {{{"kind", "b\"q"}}, 2}};
  });
  r.add_summary("kc_test_duration_seconds", "Durations.", [] {
    return std::vector<metrics::SummarySample>{{{}, 4, 1.5}};
  });
  r.counter("kc_test_direct_total", "Direct.").add({}).increment(5);

  auto text = r.text();
  EXPECT_NE(text.find("# TYPE kc_test_gauge gauge\nkc_test_gauge 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kc_test_things_total{kind=\"a\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kc_test_things_total{kind=\"b\\\"q\"} 2"), std::string::npos);
  EXPECT_NE(text.find("kc_test_duration_seconds_count 4"), std::string::npos);
  EXPECT_NE(text.find("kc_test_duration_seconds_sum 1.5"), std::string::npos);
  EXPECT_NE(text.find("kc_test_direct_total 5"), std::string::npos);
  value = 7;
  EXPECT_NE(r.text().find("kc_test_gauge 7"), std::string::npos);
}

TEST(Metrics, FamiliesSortedByNameWhateverTheirKindOrOrder) {
  metrics::Registry r;
  r.add_gauge("kc_c", "c", [] { return 1.0; });
  r.counter("kc_a_total", "a").add({});
  r.histogram("kc_b_seconds", "b", {1}).add({});
  r.gauge("kc_d", "d").add({});
  auto text = r.text();
  std::vector<size_t> at;
  for (auto* name : {"# HELP kc_a_total ", "# HELP kc_b_seconds ", "# HELP kc_c ", "# HELP kc_d "})
    at.push_back(text.find(name));
  for (auto pos : at) ASSERT_NE(pos, std::string::npos) << text;
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << text;
}

TEST(Metrics, BadOrDuplicateNamesRefused) {
  metrics::Registry r;
  r.add_gauge("kc_ok", "ok", [] { return 0.0; });
  EXPECT_THROW(r.add_gauge("kc_ok", "again", [] { return 0.0; }), std::invalid_argument);
  // One name space for both kinds of family.
  EXPECT_THROW(r.counter("kc_ok", "again"), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("0bad", "bad", [] { return 0.0; }), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("has-dash", "bad", [] { return 0.0; }), std::invalid_argument);
  EXPECT_THROW(r.gauge("__reserved", "bad"), std::invalid_argument);
  EXPECT_THROW(r.gauge("", "bad"), std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("kc:recorded_rule", "colons are allowed"));
  EXPECT_NO_THROW(r.gauge("_leading_underscore", "one underscore is allowed"));
}

TEST(Metrics, BadLabelNamesRefused) {
  metrics::Registry r;
  auto& counters = r.counter("kc_labelled_total", "c");
  EXPECT_THROW(counters.add({{"0x", "v"}}), std::invalid_argument);
  EXPECT_THROW(counters.add({{"a:b", "v"}}), std::invalid_argument);
  EXPECT_THROW(counters.add({{"__name__", "v"}}), std::invalid_argument);
  EXPECT_THROW(counters.add({{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_NO_THROW(counters.add({{"le", "v"}, {"quantile", "v"}}));
  auto& histogram = r.histogram("kc_labelled_seconds", "h", {1});
  EXPECT_THROW(histogram.add({{"le", "1"}}), std::invalid_argument);
  // Any value is fine: it is escaped.
  EXPECT_NO_THROW(counters.add({{"a", "\"\\\n\xc3\xa9"}}));
}

TEST(Metrics, LabelsWrittenSortedAndOneSeriesPerLabelSet) {
  metrics::Registry r;
  auto& family = r.counter("kc_requests_total", "r");
  family.add({{"route", "/x"}, {"code", "200"}}).increment();
  family.add({{"code", "200"}, {"route", "/x"}}).increment(2);
  family.add({{"code", "404"}, {"route", "/x"}}).increment(-1);  // ignored: counters only rise
  EXPECT_EQ(r.text(),
            "# HELP kc_requests_total r\n"
            "# TYPE kc_requests_total counter\n"
            "kc_requests_total{code=\"200\",route=\"/x\"} 3\n"
            "kc_requests_total{code=\"404\",route=\"/x\"} 0\n");
}

TEST(Metrics, GaugeSetsAndMoves) {
  metrics::Registry r;
  auto& g = r.gauge("kc_level", "l").add({});
  g.set(5);
  g.increment();
  g.decrement(2.5);
  EXPECT_EQ(g.value(), 3.5);
  EXPECT_NE(r.text().find("\nkc_level 3.5\n"), std::string::npos) << r.text();
}

TEST(Metrics, HistogramBucketsByUpperBound) {
  metrics::Registry r;
  auto& h = r.histogram("kc_wait_seconds", "w", {0.1, 1}).add({{"route", "/a"}});
  for (double v : {0.05, 0.1, 0.5, 1.0, 2.0, std::numeric_limits<double>::quiet_NaN()})
    h.observe(v);
  // A bound is inclusive; NaN counts above every bound.
  EXPECT_EQ(std::vector<uint64_t>(h.bucket_counts().begin(), h.bucket_counts().end()),
            (std::vector<uint64_t>{2, 2, 2}));
  EXPECT_EQ(h.count(), 6u);
  EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(Metrics, HistogramBoundsMustIncrease) {
  metrics::Registry r;
  EXPECT_THROW(r.histogram("kc_h1", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("kc_h2", "h", {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("kc_h3", "h", {1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
  EXPECT_NO_THROW(r.histogram("kc_h4", "h", {}));
}

TEST(Metrics, RouteServesTextFormat) {
  metrics::Registry r;
  metrics::add_process_metrics(r);
  http::Router router;
  metrics::add_metrics_route(router, r);
  http::Request req;
  req.method = "GET";
  req.path = "/metrics";
  http::Response res;
  router.dispatch(req, [&](http::Response x) { res = std::move(x); });
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(res.body.find("process_start_time_seconds "), std::string::npos);
  EXPECT_NE(res.body.find("process_open_fds "), std::string::npos);

  if (!test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  auto check = test::promtool_check_metrics(res.body);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "");
}
