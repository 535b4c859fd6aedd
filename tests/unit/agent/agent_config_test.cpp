// The agent's configuration: kong.conf < KONG_<KEY> env < flags, Kong's foreign keys ignored,
// bad keys and values reported with key, source and what is allowed; node names; advertise.
#include "agent/agent_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "agent/advertise.h"
#include "support/process.h"

using namespace kc::agent;
using kc::config::ConfigError;
using kc::config::Settings;

namespace {

Settings fresh() {
  return Settings(agent_keys(), kong_foreign_keys(), kong_foreign_prefixes());
}

std::string write_conf(const kc::test::TempDir& dir, const std::string& text) {
  std::string path = dir.path() + "/kong.conf";
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AgentConfig, DefaultsAreKongs) {
  auto c = agent_config_from(fresh());
  EXPECT_EQ(c.bind, "0.0.0.0:7946");
  EXPECT_EQ(c.rpc_addr, "127.0.0.1:7373");
  EXPECT_EQ(c.profile, "wan");
  EXPECT_EQ(c.ttl_on_failure, 3600);
  EXPECT_FALSE(c.datastore);
}

TEST(AgentConfig, FileThenEnvThenFlags) {
  kc::test::TempDir dir;
  auto path = write_conf(dir,
                         "# an existing kong.conf\n"
                         "proxy_listen = 0.0.0.0:8000   # Kong's, ignored\n"
                         "nginx_worker_processes = auto\n"
                         "cluster_listen = 0.0.0.0:8946\n"
                         "cluster_profile = lan\n"
                         "cluster_tags = role=kong, dc = one\n"
                         "pg_host = db.example\n"
                         "CLUSTER_TTL_ON_FAILURE = 120\n");
  auto s = fresh();
  s.load_file(path);
  s.load_env([](const char* name) -> const char* {
    return std::string(name) == "KONG_CLUSTER_PROFILE" ? "local" : nullptr;
  });
  s.set("cluster_listen", "127.0.0.1:9946", "flag --bind");
  auto c = agent_config_from(s);
  EXPECT_EQ(c.bind, "127.0.0.1:9946");
  EXPECT_EQ(c.profile, "local");
  EXPECT_EQ(c.ttl_on_failure, 120);
  EXPECT_EQ(c.tags.at("role"), "kong");
  EXPECT_EQ(c.tags.at("dc"), "one");
  EXPECT_TRUE(c.datastore);
  EXPECT_EQ(c.pg.at("pg_host"), "db.example");
  EXPECT_EQ(s.find("cluster_listen")->source, "flag --bind");
}

TEST(AgentConfig, ErrorsNameKeySourceAndAllowed) {
  kc::test::TempDir dir;
  auto s = fresh();
  auto e = error_of([&] { s.load_file(write_conf(dir, "cluster_listn = 0.0.0.0:1\n")); });
  EXPECT_NE(e.find("unknown configuration key 'cluster_listn'"), std::string::npos) << e;
  EXPECT_NE(e.find("kong.conf:1"), std::string::npos) << e;
  e = error_of([&] { s.set("cluster_ttl_on_failure", "30", "env KONG_CLUSTER_TTL_ON_FAILURE"); });
  EXPECT_NE(e.find("must be at least 60"), std::string::npos) << e;
  EXPECT_NE(e.find("env KONG_CLUSTER_TTL_ON_FAILURE"), std::string::npos) << e;
  e = error_of([&] { s.set("cluster_profile", "fast", "flag --profile"); });
  EXPECT_NE(e.find("allowed: local|lan|wan"), std::string::npos) << e;
  e = error_of([&] { s.set("cluster_listen", "nowhere:7946", "flag --bind"); });
  EXPECT_NE(e.find("not an IP address"), std::string::npos) << e;
  e = error_of([&] { s.load_file(write_conf(dir, "just words\n")); });
  EXPECT_NE(e.find("expected 'key = value'"), std::string::npos) << e;
  e = error_of([&] { s.load_file(dir.path() + "/missing.conf"); });
  EXPECT_NE(e.find("cannot read"), std::string::npos) << e;
}

TEST(AgentConfig, SecretsAreMaskedInDumps) {
  auto s = fresh();
  s.set("cluster_encrypt_key", "c2VjcmV0c2VjcmV0c2VjcmV0", "flag --encrypt");
  for (auto& [k, v] : s.dump()) {
    if (k == "cluster_encrypt_key") {
      EXPECT_EQ(v.text, "******");
    }
  }
}

TEST(NodeName, ExplicitThenPodThenPersistedKongForm) {
  AgentConfig c;
  c.node_name = "explicit";
  EXPECT_EQ(resolve_node_name(c), "explicit");
  c.node_name.clear();
  setenv("POD_NAME", "kong-abc12", 1);
  EXPECT_EQ(resolve_node_name(c), "kong-abc12");
  unsetenv("POD_NAME");
  kc::test::TempDir dir;
  c.data_dir = dir.path();
  auto first = resolve_node_name(c);
  EXPECT_NE(first.find("_0.0.0.0:7946_"), std::string::npos) << first;
  EXPECT_EQ(first.size() - first.rfind('_') - 1, 32u);
  EXPECT_EQ(resolve_node_name(c), first);  // a restart keeps its name
}

TEST(Advertise, ExplicitBindAndModes) {
  AgentConfig c;
  auto bound = kc::gossip::Address::parse("127.0.0.1:7000");
  EXPECT_EQ(choose_advertise(c, bound).to_string(), "127.0.0.1:7000");
  c.advertise = "5.5.5.5:1234";
  EXPECT_EQ(choose_advertise(c, bound).to_string(), "5.5.5.5:1234");
  c.advertise.clear();
  c.advertise_mode = "pod";
  unsetenv("POD_IP");
  EXPECT_THROW(choose_advertise(c, bound), std::runtime_error);
  setenv("POD_IP", "10.1.2.3", 1);
  EXPECT_EQ(choose_advertise(c, bound).to_string(), "10.1.2.3:7000");
  c.advertise_mode = "auto";
  auto any = kc::gossip::Address::parse("0.0.0.0:7000");
  EXPECT_EQ(choose_advertise(c, any).to_string(), "10.1.2.3:7000");
  unsetenv("POD_IP");
  // Wildcard bind without POD_IP: an interface address, never loopback.
  try {
    auto a = choose_advertise(c, any);
    EXPECT_NE(a.ip[0], 127);
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("set cluster_advertise"), std::string::npos);
  }
}

TEST(Advertise, KubernetesTagsFromDownwardApi) {
  setenv("POD_NAME", "kong-x", 1);
  setenv("POD_UID", "1234-uid", 1);
  unsetenv("POD_NAMESPACE");
  setenv("NODE_NAME", "node-a", 1);
  auto tags = kubernetes_tags();
  EXPECT_EQ(tags.at("pod"), "kong-x");
  EXPECT_EQ(tags.at("uid"), "1234-uid");
  EXPECT_EQ(tags.at("node"), "node-a");
  EXPECT_EQ(tags.count("namespace"), 0u);
  unsetenv("POD_NAME");
  unsetenv("POD_UID");
  unsetenv("NODE_NAME");
}

TEST(AgentConfig, ListenerAndHandlerEnvironmentKeys) {
  auto c = agent_config_from(fresh());
  EXPECT_EQ(c.probe_addr, "");
  EXPECT_FALSE(c.http_unauthenticated);
  EXPECT_TRUE(c.handler_env.empty());
  auto s = fresh();
  s.set("cluster_probe_listen", "0.0.0.0:8947", "test");
  s.set("cluster_http_unauthenticated", "on", "test");
  s.set("cluster_handler_env", "POD_NAME, APP_*", "test");
  c = agent_config_from(s);
  EXPECT_EQ(c.probe_addr, "0.0.0.0:8947");
  EXPECT_TRUE(c.http_unauthenticated);
  EXPECT_EQ(c.handler_env, (std::vector<std::string>{"POD_NAME", "APP_*"}));
  auto bad = fresh();
  EXPECT_NE(error_of([&] { bad.set("cluster_probe_listen", "nowhere", "test"); }), "");
  EXPECT_NE(error_of([&] { bad.set("cluster_http_unauthenticated", "maybe", "test"); }), "");
}
