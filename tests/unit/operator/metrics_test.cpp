// The operator's metrics (operator/controller/metrics): the names dashboards and alerts use,
// every series touched once, and the whole exposition read by Prometheus' parser (promtool).
#include "operator/controller/metrics.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "kube/informer.h"
#include "kube/rest_client.h"
#include "support/promtool.h"

using namespace kc;

namespace {

std::string operator_exposition() {
  metrics::Registry registry;
  controller::Metrics m(registry, "kong-cluster-operator");
  m.reconcile("success", 0.02);
  m.reconcile("error", 3);
  m.prune("pod_deleted", 0.4);
  m.prune("orphan", -1);  // no latency known: counted, not observed
  m.set_leader(true);
  m.set_queue_depth(2);
  m.set_members({{"alive", 3}, {"failed", 1}});
  m.set_rows(4);
  m.set_foreign_members(1);
  m.prune_error("row");
  m.prune_refused("live_pod");
  // Never started: no request leaves, the counters stay at zero.
  boost::asio::io_context io;
  kube::Config config;
  config.server = "http://127.0.0.1:9";
  kube::RestClient client(io, config);
  kube::Informer pods(client, kube::InformerOptions{}, "pods");
  controller::add_client_metrics(registry, client, {&pods});
  return registry.text();
}

}  // namespace

TEST(OperatorMetrics, NamesAndLabelsDashboardsUse) {
  auto text = operator_exposition();
  for (auto* series : {
           "controller_runtime_reconcile_total{controller=\"clusternode\",result=\"success\"} 1\n",
           "controller_runtime_reconcile_total{controller=\"clusternode\",result=\"requeue\"} 0\n",
           "controller_runtime_reconcile_time_seconds_bucket{controller=\"clusternode\",le=\"0."
           "025\"} 1\n",
           "controller_runtime_reconcile_time_seconds_count{controller=\"clusternode\"} 2\n",
           "workqueue_depth{controller=\"clusternode\",name=\"clusternode\"} 2\n",
           "leader_election_master_status{name=\"kong-cluster-operator\"} 1\n",
           "kong_cluster_operator_prunes_total{reason=\"pod_deleted\"} 1\n",
           "kong_cluster_operator_prunes_total{reason=\"orphan\"} 1\n",
           "kong_cluster_operator_prune_errors_total{step=\"row\"} 1\n",
           "kong_cluster_operator_prunes_refused_total{reason=\"live_pod\"} 1\n",
           "kong_cluster_operator_prune_latency_seconds_count 1\n",
           "kong_cluster_operator_members{status=\"alive\"} 3\n",
           "kong_cluster_operator_members{status=\"leaving\"} 0\n",
           "kong_cluster_operator_nodes_rows 4\n",
           "kong_cluster_operator_foreign_members 1\n",
           "rest_client_requests_total 0\n",
           "kong_cluster_operator_watch_restarts_total{resource=\"pods\"} 0\n",
           "kong_cluster_operator_relists_total{resource=\"pods\"} 0\n",
       })
    EXPECT_NE(text.find(series), std::string::npos) << series << "\n" << text;
}

TEST(OperatorMetrics, PromtoolParsesAndLintsClean) {
  auto text = operator_exposition();
  if (!test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  auto check = test::promtool_check_metrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  EXPECT_EQ(check.output, "");
}
