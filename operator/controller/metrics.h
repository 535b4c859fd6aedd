// The operator's Prometheus metrics: controller-runtime's names where they apply (so stock
// dashboards and alerts work) and our own under kong_cluster_operator_*.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/metrics/registry.h"

namespace kc::kube {
class Informer;
class RestClient;
}  // namespace kc::kube

namespace kc::controller {

class Metrics {
 public:
  Metrics(metrics::Registry& registry, const std::string& lease_name);

  void reconcile(const std::string& result, double seconds);
  void prune(const std::string& reason, double latency_seconds);
  void set_leader(bool leading) { leader_->set(leading ? 1 : 0); }
  void set_queue_depth(size_t n) { depth_->set(static_cast<double>(n)); }
  void set_members(const std::map<std::string, int>& by_status);
  void set_rows(size_t n) { rows_->set(static_cast<double>(n)); }
  // Members that carry another Kubernetes cluster's identity: left to that cluster's operator.
  void set_foreign_members(size_t n) { foreign_->set(static_cast<double>(n)); }
  void prune_error(const std::string& step) { prune_errors_->add({{"step", step}}).increment(); }
  // A prune not done: "live_pod" (the member is a Running and Ready agent pod's, by tags or
  // address), "disagreement" (a second agent's view contradicts the first's), "unconfirmed"
  // (no second agent answered).
  void prune_refused(const std::string& why) { refused_->add({{"reason", why}}).increment(); }

 private:
  metrics::Family<metrics::Counter>* reconcile_total_;
  metrics::Histogram* reconcile_time_;
  metrics::Gauge* depth_;
  metrics::Gauge* leader_;
  metrics::Family<metrics::Counter>* prunes_;
  metrics::Family<metrics::Counter>* prune_errors_;
  metrics::Family<metrics::Counter>* refused_;
  metrics::Histogram* prune_latency_;
  metrics::Family<metrics::Gauge>* members_;
  metrics::Gauge* rows_;
  metrics::Gauge* foreign_;
};

// The Kubernetes client's counters: requests, and per informer its watch restarts and relists.
// `informers` must outlive `registry`'s scrapes (they are the controller's).
void add_client_metrics(metrics::Registry& registry, const kube::RestClient& client,
                        std::vector<const kube::Informer*> informers);

}  // namespace kc::controller
