#include "operator/controller/metrics.h"

#include "kube/informer.h"
#include "kube/rest_client.h"

namespace kc::controller {

namespace {
// controller-runtime's reconcile_time_seconds buckets.
std::vector<double> reconcile_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
          6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
}
}  // namespace

Metrics::Metrics(metrics::Registry& r, const std::string& lease_name) {
  const std::string ctl = "clusternode";
  reconcile_total_ = &r.counter("controller_runtime_reconcile_total",
                                "Total number of reconciliations per controller");
  for (const char* result : {"success", "error", "requeue", "requeue_after"})
    reconcile_total_->add({{"controller", ctl}, {"result", result}});
  reconcile_time_ =
      &r.histogram("controller_runtime_reconcile_time_seconds",
                   "Length of time per reconciliation per controller", reconcile_buckets())
           .add({{"controller", ctl}});
  depth_ = &r.gauge("workqueue_depth", "Current depth of workqueue (prunes in progress)")
                .add({{"name", ctl}, {"controller", ctl}});
  leader_ = &r.gauge("leader_election_master_status",
                     "Gauge of if the reporting system is master of the relevant lease, 0 "
                     "indicates backup, 1 indicates master")
                 .add({{"name", lease_name}});
  prunes_ =
      &r.counter("kong_cluster_operator_prunes_total", "Members force-left with prune, by reason");
  for (const char* reason : {"pod_deleted", "pod_failed", "node_not_ready", "orphan"})
    prunes_->add({{"reason", reason}});
  prune_errors_ = &r.counter("kong_cluster_operator_prune_errors_total",
                             "Failed prune steps (retried), by step");
  refused_ = &r.counter("kong_cluster_operator_prunes_refused_total",
                        "Prunes not done, by reason (live_pod, disagreement, unconfirmed)");
  for (const char* why : {"live_pod", "disagreement", "unconfirmed"})
    refused_->add({{"reason", why}});
  prune_latency_ = &r.histogram("kong_cluster_operator_prune_latency_seconds",
                                "From the pod deletion (or failure) event until the member was "
                                "gone from every agent's view and its nodes row and ClusterNode "
                                "deleted",
                                {0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30})
                        .add({});
  members_ = &r.gauge("kong_cluster_operator_members",
                      "Cluster members by status, as the agents report them");
  rows_ = &r.gauge("kong_cluster_operator_nodes_rows",
                   "Live rows in the nodes table at the last reconcile")
               .add({});
  foreign_ = &r.gauge("kong_cluster_operator_foreign_members",
                      "Members of another Kubernetes cluster (k8s-cluster tag), left to that "
                      "cluster's operator")
                  .add({});
}

void Metrics::reconcile(const std::string& result, double seconds) {
  reconcile_total_->add({{"controller", "clusternode"}, {"result", result}}).increment();
  reconcile_time_->observe(seconds);
}

void Metrics::prune(const std::string& reason, double latency_seconds) {
  prunes_->add({{"reason", reason}}).increment();
  if (latency_seconds >= 0) prune_latency_->observe(latency_seconds);
}

void Metrics::set_members(const std::map<std::string, int>& by_status) {
  for (const char* s : {"alive", "leaving", "left", "failed"}) {
    auto it = by_status.find(s);
    members_->add({{"status", s}}).set(it == by_status.end() ? 0 : it->second);
  }
}

void add_client_metrics(metrics::Registry& registry, const kube::RestClient& client,
                        std::vector<const kube::Informer*> informers) {
  registry.add_counter("rest_client_requests_total", "Kubernetes API requests",
                       [&client] { return static_cast<double>(client.counters().requests); });
  auto per_informer = [informers = std::move(informers)](auto field) {
    std::vector<metrics::Sample> out;
    out.reserve(informers.size());
    for (const auto* i : informers)
      out.push_back({{{"resource", i->name()}}, static_cast<double>(field(i->counters()))});
    return out;
  };
  registry.add_counter(
      "kong_cluster_operator_watch_restarts_total",
      "Watches started again after one ended, failed or expired", [per_informer] {
        return per_informer([](const kube::InformerCounters& c) { return c.watch_restarts; });
      });
  registry.add_counter(
      "kong_cluster_operator_relists_total",
      "Full lists, the first one and every relist (after a 410 or an error)", [per_informer] {
        return per_informer([](const kube::InformerCounters& c) { return c.lists; });
      });
}

}  // namespace kc::controller
