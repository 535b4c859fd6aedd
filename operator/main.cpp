// kong-cluster-operator: watches the agent pods and prunes the members and `nodes` rows of
// pods that are gone, mirrors members as ClusterNode objects (docs/operator.md).
//
// Threads: one io_context on the main thread holds every piece of state. cpprestsdk's pool
// (Kubernetes requests) and a small pool for the blocking agent RPC client only do I/O and
// post their results to the io_context.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>

#include "common/config/settings.h"
#include "common/duration.h"
#include "common/http/router.h"
#include "common/http/server.h"
#include "common/logging.h"
#include "common/metrics/registry.h"
#include "datastore/pg_client.h"
#include "datastore/pg_config.h"
#include "kube/cluster_id.h"
#include "kube/config.h"
#include "kube/leader.h"
#include "kube/rest_client.h"
#include "operator/controller/agent_rpc.h"
#include "operator/controller/controller.h"
#include "operator/controller/kube_api_rest.h"
#include "operator/controller/metrics.h"

namespace {

struct Flags {
  std::string kubeconfig, ns, selector = "app.kubernetes.io/name=kong-cluster", rpc_auth_file, conf,
                              metrics_addr = "0.0.0.0:8080", health_addr = "0.0.0.0:8081",
                              lease_name = "kong-cluster-operator", lease_namespace,
                              failed_grace = "60s", resync = "60s", member_poll = "1s",
                              log_level = "info", identity;
  std::string sa_dir = kc::kube::kServiceAccountDir;
  std::string agent_daemonset, agent_service_account;
  bool insecure_trust_selector = false;
  std::string cluster_id;
  bool adopt_untagged_members = true;
  std::string pg_host, pg_port, pg_user, pg_password, pg_database;
  int agent_rpc_port = 7373;
  bool leader_elect = false;
};

std::chrono::milliseconds duration_flag(const std::string& text, const char* name) {
  auto d = kc::parse_duration(text);
  if (!d || d->count() <= 0)
    throw CLI::ValidationError(name, "not a duration (e.g. 500ms, 30s, 2m): " + text);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::string make_identity() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  char suffix[20];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
  return std::string(host) + "_" + suffix;
}

// pg_* keys as the agent reads them: --conf (kong.conf), then KONG_PG_*, then flags.
std::optional<kc::datastore::PgConfig> pg_config(const Flags& f) {
  std::vector<kc::config::KeySpec> specs;
  for (const char* k : {"pg_host", "pg_port", "pg_user", "pg_password", "pg_password_file",
                        "pg_database", "pg_ssl", "pg_ssl_verify"})
    specs.push_back({k, std::nullopt, "", nullptr, std::string(k) == "pg_password"});
  // Every other kong.conf key belongs to Kong or the agent.
  kc::config::Settings s(specs, {}, {""});
  if (!f.conf.empty()) s.load_file(f.conf);
  s.load_env([](const char* n) { return std::getenv(n); });
  auto flag = [&](const std::string& v, const char* key) {
    if (!v.empty()) s.set(key, v, std::string("flag --") + key);
  };
  flag(f.pg_host, "pg_host");
  flag(f.pg_port, "pg_port");
  flag(f.pg_user, "pg_user");
  flag(f.pg_password, "pg_password");
  flag(f.pg_database, "pg_database");
  if (!s.has("pg_host")) return std::nullopt;  // no datastore: rows are not reconciled
  std::vector<std::string> errors;
  auto cfg = kc::datastore::pg_config_from(
      [&](std::string_view key) -> std::optional<std::string> {
        std::string k(key);
        if (!s.has(k)) return std::nullopt;
        return s.get(k);
      },
      errors);
  if (!errors.empty()) throw kc::config::ConfigError(errors.front());
  return cfg;
}

// Which pods are agents: the DaemonSet's ("name" in --namespace, or "namespace/name").
kc::controller::AgentIdentity agent_identity(const Flags& f) {
  kc::controller::AgentIdentity id;
  id.trust_selector = f.insecure_trust_selector;
  if (f.insecure_trust_selector) return id;
  if (f.agent_daemonset.empty())
    throw CLI::ValidationError("--agent-daemonset",
                               "required: the agent DaemonSet whose pods alone are trusted "
                               "(or --insecure-trust-selector)");
  auto slash = f.agent_daemonset.find('/');
  if (slash == std::string::npos) {
    if (f.ns.empty())
      throw CLI::ValidationError("--agent-daemonset",
                                 "give it as namespace/name when --namespace is not set");
    id.ns = f.ns;
    id.daemonset = f.agent_daemonset;
  } else {
    id.ns = f.agent_daemonset.substr(0, slash);
    id.daemonset = f.agent_daemonset.substr(slash + 1);
  }
  if (id.ns.empty() || id.daemonset.empty())
    throw CLI::ValidationError("--agent-daemonset",
                               "not name or namespace/name: " + f.agent_daemonset);
  id.service_account = f.agent_service_account;
  return id;
}

// --cluster-id, else the kube-system Namespace's uid: without it the operator cannot tell its
// own cluster's members from another's, so a failed read stops it (and the pod restarts).
kc::controller::ClusterScope cluster_scope(const Flags& f, const kc::kube::Config& kcfg) {
  kc::controller::ClusterScope scope;
  scope.adopt_untagged = f.adopt_untagged_members;
  scope.id = f.cluster_id;
  if (scope.id.empty()) {
    std::string error;
    auto id = kc::kube::read_cluster_id(kcfg, {}, error);
    if (!id)
      throw kc::config::ConfigError(error +
                                    " (the cluster identity; grant get on that Namespace or set "
                                    "--cluster-id)");
    scope.id = *id;
  }
  return scope;
}

// What the flags alone say (checked before anything is loaded); the rest needs the kubeconfig.
kc::controller::ControllerOptions controller_options(const Flags& f) {
  kc::controller::ControllerOptions co;
  co.ns = f.ns;
  co.selector = f.selector;
  co.agent_rpc_port = f.agent_rpc_port;
  co.failed_grace = duration_flag(f.failed_grace, "--failed-grace");
  co.resync = duration_flag(f.resync, "--resync");
  co.member_poll = duration_flag(f.member_poll, "--member-poll");
  return co;
}

// /metrics, /healthz, and /readyz (ready once the controller's caches are synced).
std::shared_ptr<kc::http::Router> routes(kc::metrics::Registry& registry,
                                         const kc::controller::Controller& controller) {
  auto router = std::make_shared<kc::http::Router>();
  kc::metrics::add_metrics_route(*router, registry);
  router->add("GET", "/healthz", [](kc::http::Request&, const kc::http::Reply& reply) {
    reply(kc::http::text_response(200, "ok\n"));
  });
  router->add("GET", "/readyz", [&controller](kc::http::Request&, const kc::http::Reply& reply) {
    reply(controller.synced() ? kc::http::text_response(200, "ok\n")
                              : kc::http::text_response(503, "caches not synced\n"));
  });
  return router;
}

std::unique_ptr<kc::http::Server> serve(boost::asio::io_context& io, const std::string& addr,
                                        const std::shared_ptr<kc::http::Router>& router) {
  kc::http::ServerOptions o;
  o.bind = addr;
  o.server_header = "kong-cluster-operator";
  auto srv = std::make_unique<kc::http::Server>(
      io, o, [router](kc::http::Request& req, const kc::http::Reply& reply) {
        router->dispatch(req, reply);
      });
  srv->start();
  std::cout << "listening " << addr << " -> " << srv->local_endpoint() << std::endl;
  return srv;
}

int run(const Flags& f) {
  if (!kc::log::set_level(f.log_level)) throw CLI::ValidationError("--log-level", f.log_level);
  auto log = kc::log::get("operator");
  auto co = controller_options(f);
  auto kcfg = kc::kube::load_default(f.kubeconfig, f.sa_dir);
  std::string identity = f.identity.empty() ? make_identity() : f.identity;
  std::string lease_ns = f.lease_namespace.empty() ? kcfg.namespace_name : f.lease_namespace;
  std::string rpc_auth;
  if (!f.rpc_auth_file.empty()) {
    std::ifstream in(f.rpc_auth_file);
    if (!in) throw kc::config::ConfigError("--rpc-auth-file: cannot read " + f.rpc_auth_file);
    std::getline(in, rpc_auth);
  }
  auto pgc = pg_config(f);

  boost::asio::io_context io;
  kc::kube::RestClient kube(io, kcfg);
  log->info("Kubernetes API {} ({}), identity {}", kcfg.server, kcfg.source, identity);

  kc::metrics::Registry registry;
  kc::metrics::add_process_metrics(registry);
  kc::controller::Metrics metrics(registry, f.lease_name);

  std::unique_ptr<kc::datastore::PgClient> pg;
  std::unique_ptr<kc::controller::PgNodesStore> rows;
  if (pgc) {
    kc::datastore::ClientOptions po;
    po.application_name = "kong-cluster-operator";
    pg = std::make_unique<kc::datastore::PgClient>(io, *pgc, po);
    pg->start();
    rows = std::make_unique<kc::controller::PgNodesStore>(*pg);
    log->info("datastore {}", pgc->describe());
  }
  kc::controller::AgentRpcOptions ro;
  ro.auth_key = rpc_auth;
  kc::controller::AgentRpc rpc(io, ro);

  co.default_ns = f.ns.empty() ? kcfg.namespace_name : f.ns;
  co.identity = identity;
  co.agents = agent_identity(f);
  co.scope = cluster_scope(f, kcfg);
  log->info("Kubernetes cluster {}: acting on members tagged {}={}{}", co.scope.id,
            kc::kube::kClusterIdTag, co.scope.id,
            co.scope.adopt_untagged ? " and on untagged ones" : "");
  kc::controller::RestKubeApi kube_api(kube);
  kc::controller::Controller controller(io, kube_api, rpc, rows.get(), metrics, co);

  kc::controller::add_client_metrics(registry, kube, kube_api.informers());
  auto router = routes(registry, controller);
  std::vector<std::unique_ptr<kc::http::Server>> servers;
  if (!f.metrics_addr.empty()) servers.push_back(serve(io, f.metrics_addr, router));
  if (!f.health_addr.empty() && f.health_addr != f.metrics_addr)
    servers.push_back(serve(io, f.health_addr, router));

  int exit_code = 0;
  std::unique_ptr<kc::kube::LeaderElector> elector;
  auto shutdown = [&] {
    controller.set_leading(false);
    for (auto& s : servers) s->stop();
    if (pg) pg->close();
    io.stop();
  };
  controller.start();
  if (f.leader_elect) {
    kc::kube::LeaderOptions lo;
    lo.ns = lease_ns;
    lo.name = f.lease_name;
    lo.identity = identity;
    kc::kube::LeaderCallbacks cb;
    cb.started = [&] { controller.set_leading(true); };
    cb.stopped = [&] {
      // As controller-runtime: a replica that lost its lease exits and is restarted, rather
      // than risk acting beside the new leader.
      log->error("leadership lost; exiting");
      exit_code = 1;
      shutdown();
    };
    cb.leader = [log](const std::string& holder) { log->info("lease holder: {}", holder); };
    elector = std::make_unique<kc::kube::LeaderElector>(kube, lo, cb);
    elector->start();
  } else {
    controller.set_leading(true);
    metrics.set_leader(true);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    log->info("signal {}: shutting down", sig);
    controller.set_leading(false);
    if (elector) {
      elector->release([&] { shutdown(); });
    } else {
      shutdown();
    }
  });
  io.run();
  return exit_code;
}

int parse_and_run(int argc, char** argv) {
  CLI::App app{
      "kong-cluster-operator: prunes the members and nodes rows of agent pods that are "
      "gone, and publishes ClusterNode objects"};
  Flags f;
  auto env = [](const char* n) { return std::string("KONG_CLUSTER_OPERATOR_") + n; };
  app.add_option("--kubeconfig", f.kubeconfig,
                 "kubeconfig file; default $KUBECONFIG, in-cluster, ~/.kube/config")
      ->envname("KUBECONFIG");
  app.add_option("--service-account-dir", f.sa_dir,
                 "in-cluster credentials (token, ca.crt, namespace); the token is re-read when it "
                 "rotates")
      ->capture_default_str();
  app.add_option("--namespace", f.ns, "agent pods' namespace (default: all namespaces)")
      ->envname(env("NAMESPACE"));
  app.add_option("--selector", f.selector, "label selector of the agent pods")
      ->capture_default_str()
      ->envname(env("SELECTOR"));
  app.add_option("--agent-rpc-port", f.agent_rpc_port,
                 "agents' RPC port when the pod has no container port named rpc")
      ->capture_default_str()
      ->envname(env("AGENT_RPC_PORT"));
  app.add_option("--rpc-auth-file", f.rpc_auth_file, "file holding the agents' RPC auth token")
      ->envname(env("RPC_AUTH_FILE"));
  app.add_option("--agent-daemonset", f.agent_daemonset,
                 "the agent DaemonSet (name in --namespace, or namespace/name): only pods it owns "
                 "(controller reference by name and uid) are sent the RPC token and believed")
      ->envname(env("AGENT_DAEMONSET"));
  app.add_option("--agent-service-account", f.agent_service_account,
                 "the ServiceAccount agent pods must run under (empty: not checked)")
      ->envname(env("AGENT_SERVICE_ACCOUNT"));
  app.add_flag("--insecure-trust-selector", f.insecure_trust_selector,
               "treat every pod matching --selector as an agent (no DaemonSet; anyone who can "
               "create pods in the namespace can then receive the RPC token)")
      ->envname(env("INSECURE_TRUST_SELECTOR"));
  app.add_option("--cluster-id", f.cluster_id,
                 "identity of this Kubernetes cluster, as the agents' k8s-cluster tag: only its "
                 "members are acted on (default: the kube-system Namespace's uid)")
      ->envname(env("CLUSTER_ID"));
  app.add_option("--adopt-untagged-members", f.adopt_untagged_members,
                 "treat members with pod tags but no k8s-cluster tag (agents from before the "
                 "tag) as this cluster's")
      ->capture_default_str()
      ->envname(env("ADOPT_UNTAGGED_MEMBERS"));
  app.add_option("--conf", f.conf, "kong.conf-style file for the pg_* keys")->envname(env("CONF"));
  app.add_option("--pg-host", f.pg_host, "Postgres host (pg_host; also KONG_PG_HOST)");
  app.add_option("--pg-port", f.pg_port, "Postgres port (pg_port)");
  app.add_option("--pg-user", f.pg_user, "Postgres user (pg_user)");
  app.add_option("--pg-password", f.pg_password, "Postgres password (pg_password)");
  app.add_option("--pg-database", f.pg_database, "Postgres database (pg_database)");
  app.add_option("--metrics-addr", f.metrics_addr, "Prometheus /metrics address ('' = off)")
      ->capture_default_str()
      ->envname(env("METRICS_ADDR"));
  app.add_option("--health-addr", f.health_addr, "/healthz and /readyz address")
      ->capture_default_str()
      ->envname(env("HEALTH_ADDR"));
  app.add_flag("--leader-elect", f.leader_elect, "elect a leader through a Lease (run 2 replicas)")
      ->envname(env("LEADER_ELECT"));
  app.add_option("--lease-name", f.lease_name, "Lease name")
      ->capture_default_str()
      ->envname(env("LEASE_NAME"));
  app.add_option("--lease-namespace", f.lease_namespace,
                 "Lease namespace (default: the kubeconfig's or the pod's namespace)")
      ->envname(env("LEASE_NAMESPACE"));
  app.add_option("--failed-grace", f.failed_grace,
                 "how long a Node may be NotReady, with the member failed, before pruning")
      ->capture_default_str()
      ->envname(env("FAILED_GRACE"));
  app.add_option("--resync", f.resync, "full reconcile period")
      ->capture_default_str()
      ->envname(env("RESYNC"));
  app.add_option("--member-poll", f.member_poll, "membership poll period")
      ->capture_default_str()
      ->envname(env("MEMBER_POLL"));
  app.add_option("--identity", f.identity, "leader election identity (default hostname_random)")
      ->envname(env("IDENTITY"));
  app.add_option("--log-level", f.log_level, "trace|debug|info|warn|err")
      ->capture_default_str()
      ->envname(env("LOG_LEVEL"));
  CLI11_PARSE(app, argc, argv);
  try {
    return run(f);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "kong-cluster-operator: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace

// What escapes (CLI11's setup, a stream) is reported rather than aborting the process.
int main(int argc, char** argv) {
  try {
    return parse_and_run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "kong-cluster-operator: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "kong-cluster-operator: unknown exception\n";
  }
  return 1;
}
