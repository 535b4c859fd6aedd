#include "support/cluster_procs.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "support/wait.h"

namespace kc::test {

std::string kong_cluster_binary() {
  const char* bin = std::getenv("KC_BINARY_DIR");
  return std::string(bin ? bin : "build") + "/bin/kong-cluster";
}

GossipAgent::GossipAgent(const TempDir& dir, Options o) : opts_(std::move(o)) {
  bind_port_ = opts_.bind_port ? opts_.bind_port : free_port();
  rpc_port_ = free_port();
  std::vector<std::string> argv;
  std::string log = dir.path() + "/" + opts_.name + "-" + std::to_string(bind_port_) + ".log";
  if (opts_.kind == Kind::Ours) {
    argv = {kong_cluster_binary(), "agent",      "--node",   opts_.name,  "--bind",
            gossip_addr(),         "--rpc-addr", rpc_addr(), "--profile", opts_.profile,
            "--log-level",         "debug"};
    if (!opts_.encrypt.empty()) argv.insert(argv.end(), {"--encrypt", opts_.encrypt});
    for (auto& [k, v] : opts_.tags) argv.insert(argv.end(), {"--tag", k + "=" + v});
    for (auto& j : opts_.join) argv.insert(argv.end(), {"--join", j});
  } else {
    argv = {"serf",
            "agent",
            "-node=" + opts_.name,
            "-bind=" + gossip_addr(),
            "-rpc-addr=" + rpc_addr(),
            "-profile=" + opts_.profile,
            "-log-level=debug"};
    if (!opts_.encrypt.empty()) argv.push_back("-encrypt=" + opts_.encrypt);
    for (auto& [k, v] : opts_.tags) argv.push_back("-tag=" + k + "=" + v);
    for (auto& j : opts_.join) argv.push_back("-join=" + j);
  }
  argv.insert(argv.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  proc_ = std::make_unique<Process>(argv, log, opts_.env);
}

std::optional<std::map<std::string, MemberView>> GossipAgent::members() const {
  auto r = run_command({"serf", "members", "-format=json", "-rpc-addr=" + rpc_addr()}, 10000);
  if (r.exit_code != 0) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(r.output);
    std::map<std::string, MemberView> out;
    for (auto& m : j.at("members")) {
      MemberView v;
      v.addr = m.at("addr").get<std::string>();
      v.status = m.at("status").get<std::string>();
      for (auto& [k, val] : m.at("tags").items()) v.tags[k] = val.get<std::string>();
      out[m.at("name").get<std::string>()] = v;
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string GossipAgent::status_of(const std::string& name) const {
  auto ms = members();
  if (!ms) return "";
  auto it = ms->find(name);
  return it == ms->end() ? "" : it->second.status;
}

size_t GossipAgent::alive_count() const {
  auto ms = members();
  size_t n = 0;
  if (ms)
    for (auto& [name, v] : *ms) n += v.status == "alive";
  return n;
}

bool GossipAgent::wait_ready(int timeout_ms) const {
  return wait_until([&] { return members().has_value(); }, std::chrono::milliseconds(timeout_ms),
                    std::chrono::milliseconds(100));
}

}  // namespace kc::test
