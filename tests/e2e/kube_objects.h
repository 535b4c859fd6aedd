// Objects on the real apiserver as the end-to-end tests need them, made as the admin: a fresh
// namespace per test (the control plane is shared by a binary's tests), Nodes and Pods whose
// status the test sets through the status subresource as a kubelet would (no kubelet runs),
// deletions with the kubelet's last step (grace period 0), ServiceAccount tokens and RBAC.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "e2e/kube_cluster.h"

namespace kc::test::e2e {

inline std::string pods_path(const std::string& ns) {
  return "/api/v1/namespaces/" + ns + "/pods";
}
inline std::string pod_path(const std::string& ns, const std::string& name) {
  return pods_path(ns) + "/" + name;
}

// Fails the current test unless the answer is `want`.
inline const ApiResult& expect_code(const ApiResult& r, int want, const std::string& what) {
  EXPECT_EQ(r.code, want) << what << ": " << r.text;
  return r;
}

// A namespace no earlier test of this binary used, with its "default" ServiceAccount (the
// ServiceAccount admission refuses pods without one; its controller does not run here).
inline std::string fresh_namespace(const std::string& prefix = "e2e") {
  static int n = 0;
  auto& k = control_plane();
  std::string ns = prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
  expect_code(
      k.request("POST", "/api/v1/namespaces",
                {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}),
      201, "creating namespace " + ns);
  expect_code(
      k.request(
          "POST", "/api/v1/namespaces/" + ns + "/serviceaccounts",
          {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "default"}}}}),
      201, "creating the default ServiceAccount in " + ns);
  return ns;
}

inline void create_service_account(const std::string& ns, const std::string& name) {
  expect_code(
      control_plane().request(
          "POST", "/api/v1/namespaces/" + ns + "/serviceaccounts",
          {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}}),
      201, "creating ServiceAccount " + ns + "/" + name);
}

// A token for the ServiceAccount from the TokenRequest API, signed by the apiserver.
inline std::string service_account_token(const std::string& ns, const std::string& name) {
  auto r = control_plane().request(
      "POST", "/api/v1/namespaces/" + ns + "/serviceaccounts/" + name + "/token",
      {{"apiVersion", "authentication.k8s.io/v1"},
       {"kind", "TokenRequest"},
       {"spec", {{"expirationSeconds", 3600}}}});
  expect_code(r, 201, "TokenRequest for " + ns + "/" + name);
  return r.body.is_object() ? r.body["status"].value("token", "") : "";
}

// A Role (namespaced, `ns` non-empty) or ClusterRole with `rules`, bound to the
// ServiceAccount sa_ns/sa by a binding of the same name.
inline void grant(const std::string& ns, const std::string& name, const nlohmann::json& rules,
                  const std::string& sa_ns, const std::string& sa) {
  auto& k = control_plane();
  std::string base = ns.empty() ? "/apis/rbac.authorization.k8s.io/v1/"
                                : "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/";
  std::string kind = ns.empty() ? "ClusterRole" : "Role";
  expect_code(k.request("POST", base + (ns.empty() ? "clusterroles" : "roles"),
                        {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                         {"kind", kind},
                         {"metadata", {{"name", name}}},
                         {"rules", rules}}),
              201, "creating " + kind + " " + name);
  expect_code(
      k.request(
          "POST", base + (ns.empty() ? "clusterrolebindings" : "rolebindings"),
          {{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", kind + "Binding"},
           {"metadata", {{"name", name}}},
           {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", kind}, {"name", name}}},
           {"subjects", {{{"kind", "ServiceAccount"}, {"name", sa}, {"namespace", sa_ns}}}}}),
      201, "binding " + kind + " " + name);
}

inline nlohmann::json node_ready_condition(const std::string& status) {
  const char* t = "2026-01-01T00:00:00Z";
  return {{"type", "Ready"},
          {"status", status},
          {"reason", status == "True" ? "KubeletReady" : "NodeStatusUnknown"},
          {"lastHeartbeatTime", t},
          {"lastTransitionTime", t}};
}

// A Ready Node with these labels and addresses, as its kubelet would register and report it.
// A Node of that name from an earlier test is replaced (Nodes are not namespaced).
struct NodeSpec {
  NodeSpec(std::string n, std::map<std::string, std::string> l = {}, std::string internal = "",
           std::string external = "")
      : name(std::move(n)),
        labels(std::move(l)),
        internal_ip(std::move(internal)),
        external_ip(std::move(external)) {}
  std::string name;
  std::map<std::string, std::string> labels;
  std::string internal_ip, external_ip;
};
inline void put_node(const NodeSpec& n) {
  auto& k = control_plane();
  k.request("DELETE", "/api/v1/nodes/" + n.name);  // no kubelet or controller holds it
  nlohmann::json labels = nlohmann::json::object();
  for (auto& [key, v] : n.labels) labels[key] = v;
  expect_code(k.request("POST", "/api/v1/nodes",
                        {{"apiVersion", "v1"},
                         {"kind", "Node"},
                         {"metadata", {{"name", n.name}, {"labels", labels}}}}),
              201, "creating Node " + n.name);
  nlohmann::json addresses = {{{"type", "Hostname"}, {"address", n.name}}};
  if (!n.internal_ip.empty())
    addresses.push_back({{"type", "InternalIP"}, {"address", n.internal_ip}});
  if (!n.external_ip.empty())
    addresses.push_back({{"type", "ExternalIP"}, {"address", n.external_ip}});
  expect_code(
      k.merge_patch("/api/v1/nodes/" + n.name + "/status",
                    {{"status",
                      {{"addresses", addresses},
                       {"conditions", nlohmann::json::array({node_ready_condition("True")})}}}}),
      200, "Node " + n.name + " status");
}

// The Node's Ready condition as its kubelet (True) or the node lifecycle controller
// (Unknown: the kubelet stopped reporting) writes it.
inline void set_node_ready(const std::string& node, const std::string& status) {
  expect_code(
      control_plane().merge_patch(
          "/api/v1/nodes/" + node + "/status",
          {{"status", {{"conditions", nlohmann::json::array({node_ready_condition(status)})}}}}),
      200, "Node " + node + " Ready=" + status);
}

// A pod bound to `node` (spec.nodeName: the scheduler's work done), one container. Returns the
// created object (null on failure, which is also a test failure).
struct PodSpec {
  std::string ns, name, node;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, int>> ports;  // container ports: name, number
  std::string service_account = "default";
  nlohmann::json owner_references;  // null: none
};
inline nlohmann::json create_pod(const PodSpec& p) {
  nlohmann::json labels = nlohmann::json::object();
  for (auto& [key, v] : p.labels) labels[key] = v;
  nlohmann::json ports = nlohmann::json::array();
  for (auto& [name, port] : p.ports)
    ports.push_back({{"name", name}, {"containerPort", port}, {"protocol", "TCP"}});
  nlohmann::json meta = {{"name", p.name}, {"namespace", p.ns}, {"labels", labels}};
  if (!p.owner_references.is_null()) meta["ownerReferences"] = p.owner_references;
  nlohmann::json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", meta},
      {"spec",
       {{"nodeName", p.node},
        {"serviceAccountName", p.service_account},
        {"automountServiceAccountToken", false},
        {"containers",
         {{{"name", "main"}, {"image", "kong-cluster/agent:test"}, {"ports", ports}}}}}}};
  auto r = control_plane().request("POST", pods_path(p.ns), pod);
  expect_code(r, 201, "creating pod " + p.ns + "/" + p.name);
  return r.code == 201 ? r.body : nlohmann::json();
}

// What a kubelet reports for the pod's one container: Running and Ready at `ip`, or Failed
// (terminated with exit code 1, not Ready).
inline void set_pod_running(const std::string& ns, const std::string& name, const std::string& ip) {
  const char* t = "2026-01-01T00:00:00Z";
  nlohmann::json conds = nlohmann::json::array();
  for (const char* c : {"PodScheduled", "Initialized", "ContainersReady", "Ready"})
    conds.push_back({{"type", c}, {"status", "True"}, {"lastTransitionTime", t}});
  nlohmann::json status = {{"phase", "Running"},
                           {"podIP", ip},
                           {"podIPs", {{{"ip", ip}}}},
                           {"hostIP", ip},
                           {"hostIPs", {{{"ip", ip}}}},
                           {"startTime", t},
                           {"conditions", conds},
                           {"containerStatuses",
                            {{{"name", "main"},
                              {"ready", true},
                              {"started", true},
                              {"restartCount", 0},
                              {"image", "kong-cluster/agent:test"},
                              {"imageID", ""},
                              {"state", {{"running", {{"startedAt", t}}}}}}}}};
  expect_code(control_plane().merge_patch(pod_path(ns, name) + "/status", {{"status", status}}),
              200, "pod " + ns + "/" + name + " Running");
}
inline void set_pod_failed(const std::string& ns, const std::string& name) {
  const char* t = "2026-01-01T00:00:01Z";
  nlohmann::json conds = nlohmann::json::array();
  for (const char* c : {"ContainersReady", "Ready"})
    conds.push_back({{"type", c}, {"status", "False"}, {"lastTransitionTime", t}});
  nlohmann::json status = {
      {"phase", "Failed"},
      {"conditions", conds},
      {"containerStatuses",
       {{{"name", "main"},
         {"ready", false},
         {"started", false},
         {"restartCount", 0},
         {"image", "kong-cluster/agent:test"},
         {"imageID", ""},
         {"state",
          {{"terminated",
            {{"exitCode", 1}, {"reason", "Error"}, {"startedAt", t}, {"finishedAt", t}}}}}}}}};
  expect_code(control_plane().merge_patch(pod_path(ns, name) + "/status", {{"status", status}}),
              200, "pod " + ns + "/" + name + " Failed");
}

// DELETE with a grace period: 0 removes the object at once (a force delete, or the kubelet's
// last call once the containers are gone); more marks a pod bound to a Node for deletion and
// leaves it until a grace-0 delete (no kubelet runs here to finish it).
inline void delete_pod(const std::string& ns, const std::string& name, int grace_seconds = 0) {
  auto r = control_plane().request(
      "DELETE", pod_path(ns, name),
      {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", grace_seconds}});
  expect_code(r, 200, "deleting pod " + ns + "/" + name);
}

}  // namespace kc::test::e2e
