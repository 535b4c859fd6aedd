#include "agent/cli/connect.h"

#include <cstdlib>

namespace kc::cli {

RpcOptions rpc_defaults_from_env() {
  RpcOptions o;
  o.addr = "127.0.0.1:7373";
  for (const char* name : {"KONG_CLUSTER_LISTEN_RPC", "KONG_CLUSTER_RPC_ADDR"}) {
    if (const char* v = std::getenv(name); v && *v) o.addr = v;  // later names win
  }
  if (const char* v = std::getenv("KONG_CLUSTER_RPC_AUTH")) o.auth = v;
  return o;
}

std::unique_ptr<rpc::Client> connect(const RpcOptions& rpc, Io io) {
  rpc::ClientOptions options;
  options.addr = rpc.addr;
  options.auth_key = rpc.auth;
  try {
    return std::make_unique<rpc::Client>(options);
  } catch (const rpc::RemoteError& e) {
    std::string hint = std::string(e.what()) == "Invalid authentication token"
                           ? " (check --rpc-auth or KONG_CLUSTER_RPC_AUTH)"
                           : "";
    io.err << "Error connecting to Serf agent at " << rpc.addr << ": " << e.what() << hint << "\n";
  } catch (const rpc::ClientError& e) {
    io.err << "Error connecting to Serf agent at " << rpc.addr << ": " << e.what()
           << " (is `kong-cluster agent` running? Set --rpc-addr or KONG_CLUSTER_RPC_ADDR to its "
              "RPC address)\n";
  }
  return nullptr;
}

}  // namespace kc::cli
