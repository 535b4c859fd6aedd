// kubeconfig (current context, inline and file CA, tokens, client certificates), in-cluster
// configuration, and the token file being re-read when kubelet rotates it.
#include "kube/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "kube/resources.h"
#include "kube/yaml.h"
#include "support/process.h"

using namespace kc::kube;

namespace {
void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}
}  // namespace

TEST(KubeConfig, CurrentContextWithInlineCaAndToken) {
  kc::test::TempDir dir;
  // "hello\n" in base64 as the CA bytes: the loader only decodes it.
  write(dir.path() + "/kc", R"(apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://10.0.0.9:6443"}
- name: main
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: aGVsbG8K
users:
- name: me
  user:
    token: "abc.def"
contexts:
- name: a
  context: {cluster: other, user: me}
- name: b
  context:
    cluster: main
    user: me
    namespace: kong
current-context: b
)");
  auto c = load_kubeconfig(dir.path() + "/kc");
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, "hello\n");
  EXPECT_EQ(c.token, "abc.def");
  EXPECT_EQ(c.namespace_name, "kong");
  auto a = load_kubeconfig(dir.path() + "/kc", "a");
  EXPECT_EQ(a.server, "https://10.0.0.9:6443");
  EXPECT_EQ(a.namespace_name, "default");
}

TEST(KubeConfig, RelativeFilesAndClientCertificates) {
  kc::test::TempDir dir;
  write(dir.path() + "/ca.crt", "CA");
  write(dir.path() + "/client.crt", "CERT");
  write(dir.path() + "/client.key", "KEY");
  write(dir.path() + "/kc", R"(clusters:
- name: c
  cluster:
    server: https://k:443
    certificate-authority: ca.crt
users:
- name: u
  user:
    client-certificate: client.crt
    client-key: client.key
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  auto c = load_kubeconfig(dir.path() + "/kc");
  EXPECT_EQ(c.ca_pem, "CA");
  EXPECT_EQ(c.client_cert_pem, "CERT");
  EXPECT_EQ(c.client_key_pem, "KEY");
}

TEST(KubeConfig, Errors) {
  kc::test::TempDir dir;
  EXPECT_THROW(load_kubeconfig(dir.path() + "/missing"), ConfigError);
  write(dir.path() + "/bad", "clusters: [unclosed\n");
  EXPECT_THROW(load_kubeconfig(dir.path() + "/bad"), ConfigError);
  write(dir.path() + "/noctx", "current-context: nope\ncontexts: []\n");
  EXPECT_THROW(load_kubeconfig(dir.path() + "/noctx"), ConfigError);
}

// The agent's order: explicit path, $KUBECONFIG, in-cluster; never ~/.kube/config.
TEST(KubeConfig, ConfiguredOnlyWhenAsked) {
  kc::test::TempDir dir;
  write(dir.path() + "/kc",
        "current-context: c\nclusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: k}}]\n");
  ::unsetenv("KUBECONFIG");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  ::mkdir((dir.path() + "/.kube").c_str(), 0700);
  write(dir.path() + "/.kube/config", "not used");
  ::setenv("HOME", dir.path().c_str(), 1);
  EXPECT_FALSE(load_configured(""));
  EXPECT_EQ(load_configured(dir.path() + "/kc")->server, "http://127.0.0.1:1");
  ::setenv("KUBECONFIG", (dir.path() + "/kc:/elsewhere").c_str(), 1);
  EXPECT_EQ(load_configured("")->source, "kubeconfig " + dir.path() + "/kc");
  ::unsetenv("KUBECONFIG");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  EXPECT_THROW(load_configured("", dir.path() + "/no-sa"), ConfigError);  // in a pod, no token
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  ::setenv("HOME", home.c_str(), 1);
}

TEST(KubeConfig, InClusterAndTokenRotation) {
  kc::test::TempDir dir;
  write(dir.path() + "/token", "t1\n");
  write(dir.path() + "/ca.crt", "CA");
  write(dir.path() + "/namespace", "kong-system");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto c = load_in_cluster(dir.path());
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.namespace_name, "kong-system");
  EXPECT_EQ(c.ca_pem, "CA");
  TokenSource tokens(c);
  EXPECT_EQ(tokens.token(), "t1");
  // kubelet replaces the file (new size here; a new mtime in general).
  write(dir.path() + "/token", "token-two\n");
  EXPECT_EQ(tokens.token(), "token-two");
}

TEST(KubeConfig, YamlToJson) {
  auto j = yaml_to_json("a: 1\nb: [x, {c: d}]\n");
  EXPECT_EQ(j["a"], "1");
  EXPECT_EQ(j["b"][1]["c"], "d");
}

TEST(KubeResources, PodAndNodeViews) {
  auto pod = nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":"k","uid":"u",
    "deletionTimestamp":"2026-01-01T00:00:00Z"},
    "spec":{"nodeName":"w1","containers":[{"name":"agent","ports":[{"name":"serflan","containerPort":7946},
      {"name":"rpc","containerPort":7373},{"name":"http","containerPort":8946}]}]},
    "status":{"phase":"Running","podIP":"10.1.0.5","conditions":[{"type":"Ready","status":"True"}]}})");
  auto v = pod_view(pod);
  EXPECT_EQ(v.uid, "u");
  EXPECT_EQ(v.node, "w1");
  EXPECT_TRUE(v.ready);
  EXPECT_TRUE(v.deleting);
  EXPECT_EQ(v.rpc_port, 7373);
  EXPECT_EQ(v.http_port, 8946);
  EXPECT_EQ(v.ip, "10.1.0.5");
  auto node = nlohmann::json::parse(
      R"({"metadata":{"name":"w1","labels":{"topology.kubernetes.io/zone":"z"}},
    "status":{"conditions":[{"type":"Ready","status":"Unknown"}],
    "addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"ExternalIP","address":"1.2.3.4"}]}})");
  auto n = node_view(node);
  EXPECT_FALSE(n.ready);
  EXPECT_EQ(n.labels["topology.kubernetes.io/zone"], "z");
  EXPECT_EQ(n.internal_ip, "10.0.0.1");
  EXPECT_EQ(n.external_ip, "1.2.3.4");
  EXPECT_EQ(object_key(pod), "k/a");
  EXPECT_EQ(object_key(node), "w1");
}

TEST(KubeResources, PodOwnerAccountAndAddresses) {
  auto pod = nlohmann::json::parse(R"({"metadata":{"name":"a","namespace":"k","uid":"u",
    "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"w1","uid":"n1"},
      {"apiVersion":"apps/v1","kind":"DaemonSet","name":"agent","uid":"d1","controller":true}]},
    "spec":{"serviceAccountName":"sa","containers":[{"name":"agent","ports":[
      {"name":"gossip-udp","containerPort":7946}]}]},
    "status":{"podIP":"10.1.0.5","hostIP":"10.0.0.1"}})");
  auto v = pod_view(pod);
  ASSERT_TRUE(v.owner);
  EXPECT_EQ(v.owner->kind, "DaemonSet");
  EXPECT_EQ(v.owner->api_version, "apps/v1");
  EXPECT_EQ(v.owner->name, "agent");
  EXPECT_EQ(v.owner->uid, "d1");
  EXPECT_EQ(v.service_account, "sa");
  EXPECT_EQ(v.host_ip, "10.0.0.1");
  EXPECT_EQ(v.gossip_port, 7946);
  // Owner references without controller=true (or with a non-boolean one) are not the owner.
  pod["metadata"]["ownerReferences"][1]["controller"] = "true";
  EXPECT_FALSE(pod_view(pod).owner);
  EXPECT_EQ(daemonset_path("kong", "agent"), "/apis/apps/v1/namespaces/kong/daemonsets/agent");
}

TEST(KubeResources, Times) {
  std::chrono::system_clock::time_point t{std::chrono::microseconds(1764066427123456LL)};
  EXPECT_EQ(format_time(t), "2025-11-25T10:27:07Z");
  EXPECT_EQ(format_micro_time(t), "2025-11-25T10:27:07.123456Z");
}
