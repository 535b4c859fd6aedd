// The operator's Prometheus metrics: controller-runtime's names where they apply (so stock
// dashboards and alerts work) and our own under kong_cluster_operator_*.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

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
  void set_leader(bool leading) { leader_->Set(leading ? 1 : 0); }
  void set_queue_depth(size_t n) { depth_->Set(static_cast<double>(n)); }
  void set_members(const std::map<std::string, int>& by_status);
  void set_rows(size_t n) { rows_->Set(static_cast<double>(n)); }
  // Members that carry another Kubernetes cluster's identity: left to that cluster's operator.
  void set_foreign_members(size_t n) { foreign_->Set(static_cast<double>(n)); }
  void prune_error(const std::string& step) { prune_errors_->Add({{"step", step}}).Increment(); }
  // A prune not done: "live_pod" (the member is a Running and Ready agent pod's, by tags or
  // address), "disagreement" (a second agent's view contradicts the first's), "unconfirmed"
  // (no second agent answered).
  void prune_refused(const std::string& why) { refused_->Add({{"reason", why}}).Increment(); }

  prometheus::Family<prometheus::Counter>& reconcile_total() { return *reconcile_total_; }

 private:
  prometheus::Family<prometheus::Counter>* reconcile_total_;
  prometheus::Histogram* reconcile_time_;
  prometheus::Gauge* depth_;
  prometheus::Gauge* leader_;
  prometheus::Family<prometheus::Counter>* prunes_;
  prometheus::Family<prometheus::Counter>* prune_errors_;
  prometheus::Family<prometheus::Counter>* refused_;
  prometheus::Histogram* prune_latency_;
  prometheus::Family<prometheus::Gauge>* members_;
  prometheus::Gauge* rows_;
  prometheus::Gauge* foreign_;
};

// The Kubernetes client's counters: requests, and per informer its watch restarts and relists.
// `informers` must outlive `registry`'s scrapes (they are the controller's).
void add_client_metrics(metrics::Registry& registry, const kube::RestClient& client,
                        std::vector<const kube::Informer*> informers);

}  // namespace kc::controller
