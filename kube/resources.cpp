#include "kube/resources.h"

#include <cstdio>
#include <ctime>
#include <random>

namespace kc::kube {

std::string pods_path(const std::string& ns) {
  return ns.empty() ? "/api/v1/pods" : "/api/v1/namespaces/" + ns + "/pods";
}
std::string pod_path(const std::string& ns, const std::string& name) {
  return pods_path(ns) + "/" + name;
}
std::string nodes_path() {
  return "/api/v1/nodes";
}
std::string node_path(const std::string& name) {
  return "/api/v1/nodes/" + name;
}
std::string leases_path(const std::string& ns) {
  return "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases";
}
std::string lease_path(const std::string& ns, const std::string& name) {
  return leases_path(ns) + "/" + name;
}
std::string events_path(const std::string& ns) {
  return "/api/v1/namespaces/" + ns + "/events";
}
std::string clusternodes_path(const std::string& ns) {
  std::string base = std::string("/apis/") + kClusterNodeGroup + "/" + kClusterNodeVersion;
  return ns.empty() ? base + "/clusternodes" : base + "/namespaces/" + ns + "/clusternodes";
}
std::string clusternode_path(const std::string& ns, const std::string& name) {
  return clusternodes_path(ns) + "/" + name;
}

std::string daemonset_path(const std::string& ns, const std::string& name) {
  return "/apis/apps/v1/namespaces/" + ns + "/daemonsets/" + name;
}

std::string object_key(const nlohmann::json& obj) {
  const auto& md = obj.value("metadata", nlohmann::json::object());
  std::string ns = md.value("namespace", "");
  std::string name = md.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

std::string resource_version(const nlohmann::json& obj) {
  if (!obj.contains("metadata")) return "";
  return obj["metadata"].value("resourceVersion", "");
}

PodView pod_view(const nlohmann::json& pod) {
  PodView v;
  const auto& md = pod.value("metadata", nlohmann::json::object());
  v.ns = md.value("namespace", "");
  v.name = md.value("name", "");
  v.uid = md.value("uid", "");
  v.deleting = md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null();
  for (const auto& ref : md.value("ownerReferences", nlohmann::json::array())) {
    if (!ref.is_object() || !ref.contains("controller") || ref["controller"] != true) continue;
    v.owner = ControllerRef{ref.value("apiVersion", ""), ref.value("kind", ""),
                            ref.value("name", ""), ref.value("uid", "")};
    break;
  }
  const auto& spec = pod.value("spec", nlohmann::json::object());
  v.node = spec.value("nodeName", "");
  v.service_account = spec.value("serviceAccountName", "");
  const auto& status = pod.value("status", nlohmann::json::object());
  v.phase = status.value("phase", "");
  v.ip = status.value("podIP", "");
  v.host_ip = status.value("hostIP", "");
  for (const auto& c : status.value("conditions", nlohmann::json::array()))
    if (c.value("type", "") == "Ready") v.ready = c.value("status", "") == "True";
  for (const auto& ctr : spec.value("containers", nlohmann::json::array()))
    for (const auto& p : ctr.value("ports", nlohmann::json::array()))
      if (p.contains("containerPort") && p["containerPort"].is_number_integer()) {
        auto name = p.value("name", "");
        if (name == "rpc") v.rpc_port = p["containerPort"].get<int>();
        if (name == "http") v.http_port = p["containerPort"].get<int>();
        if (name == "gossip" || name == "gossip-tcp" || name == "gossip-udp" || name == "serflan")
          v.gossip_port = p["containerPort"].get<int>();
      }
  return v;
}

NodeView node_view(const nlohmann::json& node) {
  NodeView v;
  const auto& md = node.value("metadata", nlohmann::json::object());
  v.name = md.value("name", "");
  // value() returns a copy: keep it alive for the loop (items() of a temporary dangles).
  const auto labels = md.value("labels", nlohmann::json::object());
  for (const auto& [k, val] : labels.items())
    if (val.is_string()) v.labels[k] = val.get<std::string>();
  const auto& status = node.value("status", nlohmann::json::object());
  for (const auto& c : status.value("conditions", nlohmann::json::array()))
    if (c.value("type", "") == "Ready") v.ready = c.value("status", "") == "True";
  for (const auto& a : status.value("addresses", nlohmann::json::array())) {
    if (a.value("type", "") == "InternalIP" && v.internal_ip.empty())
      v.internal_ip = a.value("address", "");
    if (a.value("type", "") == "ExternalIP" && v.external_ip.empty())
      v.external_ip = a.value("address", "");
  }
  return v;
}

std::string format_time(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_micro_time(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  if (secs > t) secs -= std::chrono::seconds(1);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  // micros is within [0, 1e6): six digits, built without snprintf so GCC's -O2
  // format-truncation analysis has nothing to warn about under -Werror.
  std::string frac = std::to_string(1000000 + (micros % 1000000)).substr(1);
  return std::string(buf) + "." + frac + "Z";
}

nlohmann::json make_event(const nlohmann::json& involved, const std::string& type,
                          const std::string& reason, const std::string& message,
                          const std::string& component, const std::string& host) {
  static std::mt19937_64 rng{std::random_device{}()};
  auto now = format_time(std::chrono::system_clock::now());
  char suffix[20];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
  // Events are named <object>.<unique>, as client-go's recorder names them.
  std::string name = involved.value("name", "object") + "." + suffix;
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata", {{"name", name}, {"namespace", involved.value("namespace", "default")}}},
          {"involvedObject", involved},
          {"type", type},
          {"reason", reason},
          {"message", message},
          {"source", {{"component", component}, {"host", host}}},
          {"reportingComponent", component},
          {"reportingInstance", host},
          {"firstTimestamp", now},
          {"lastTimestamp", now},
          {"count", 1}};
}

}  // namespace kc::kube
