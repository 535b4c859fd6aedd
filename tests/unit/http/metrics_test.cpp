// The metrics registry: prometheus-cpp metrics and scrape-time families in one exposition,
// name checks, the /metrics route, process metrics, and promtool's verdict when installed.
#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include <cstdio>
#include <fstream>

#include "common/http/router.h"
#include "common/metrics/registry.h"
#include "support/process.h"

using namespace kc;

TEST(Metrics, CallbackAndRegisteredFamiliesExposedTogether) {
  metrics::Registry r;
  double value = 3;
  r.add_gauge("kc_test_gauge", "A gauge.", [&] { return value; });
  r.add_counter("kc_test_things_total", "Things by kind.", [] {
    return std::vector<metrics::Sample>{{{{"kind", "a"}}, 1}, {{{"kind", "b\"q"}}, 2}};
  });
  r.add_summary("kc_test_duration_seconds", "Durations.", [] {
    return std::vector<metrics::SummarySample>{{{}, 4, 1.5}};
  });
  auto& c =
      prometheus::BuildCounter().Name("kc_test_direct_total").Help("Direct.").Register(r.prom());
  c.Add({}).Increment(5);

  auto text = r.text();
  EXPECT_NE(text.find("# TYPE kc_test_gauge gauge\nkc_test_gauge 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kc_test_things_total{kind=\"a\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kc_test_things_total{kind=\"b\\\"q\"} 2"), std::string::npos);
  EXPECT_NE(text.find("kc_test_duration_seconds_count 4"), std::string::npos);
  EXPECT_NE(text.find("kc_test_duration_seconds_sum 1.5"), std::string::npos);
  EXPECT_NE(text.find("kc_test_direct_total 5"), std::string::npos);
  // Sorted by family name.
  EXPECT_LT(text.find("kc_test_direct_total"), text.find("kc_test_duration_seconds"));
  value = 7;
  EXPECT_NE(r.text().find("kc_test_gauge 7"), std::string::npos);
}

TEST(Metrics, BadOrDuplicateNamesRefused) {
  metrics::Registry r;
  r.add_gauge("kc_ok", "ok", [] { return 0.0; });
  EXPECT_THROW(r.add_gauge("kc_ok", "again", [] { return 0.0; }), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("0bad", "bad", [] { return 0.0; }), std::invalid_argument);
  EXPECT_THROW(r.add_gauge("has-dash", "bad", [] { return 0.0; }), std::invalid_argument);
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

  if (!test::have_program("promtool")) GTEST_SKIP() << "promtool not installed";
  test::TempDir dir;
  auto path = dir.path() + "/metrics.txt";
  std::ofstream(path) << res.body;
  auto check = test::run_command({"sh", "-c", "promtool check metrics < " + path});
  EXPECT_EQ(check.exit_code, 0) << check.output;
}
