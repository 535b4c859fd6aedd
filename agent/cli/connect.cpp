#include "agent/cli/connect.h"

#include <spdlog/fmt/fmt.h>

#include <cctype>
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

std::string go_dial_error(const std::string& addr, const std::string& error) {
  if (error.rfind("cannot resolve ", 0) == 0) {
    auto host = addr.substr(0, addr.rfind(':'));
    return "dial tcp: lookup " + host + ": no such host";
  }
  if (error == "connection timed out") return "dial tcp " + addr + ": i/o timeout";
  // Go's syscall error strings are strerror's, lower-cased.
  static const char* const kSystemErrors[] = {"Connection refused", "Network is unreachable",
                                              "No route to host", "Permission denied",
                                              "Cannot assign requested address"};
  for (const char* known : kSystemErrors) {
    if (error == known) {
      std::string text = error;
      text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      return fmt::format("dial tcp {}: connect: {}", addr, text);
    }
  }
  return error;
}

std::unique_ptr<serf_client::Client> connect(const RpcOptions& rpc, Io io) {
  serf_client::ClientOptions options;
  options.addr = rpc.addr;
  options.auth_key = rpc.auth;
  try {
    return std::make_unique<serf_client::Client>(options);
  } catch (const serf_client::RemoteError& e) {
    if (rpc.serf_errors) {
      io.err << "Error connecting to Serf agent: " << e.what() << "\n";
      return nullptr;
    }
    std::string hint = std::string(e.what()) == "Invalid authentication token"
                           ? " (check --rpc-auth or KONG_CLUSTER_RPC_AUTH)"
                           : "";
    io.err << "Error connecting to Serf agent at " << rpc.addr << ": " << e.what() << hint << "\n";
  } catch (const serf_client::ClientError& e) {
    if (rpc.serf_errors) {
      io.err << "Error connecting to Serf agent: " << go_dial_error(rpc.addr, e.what()) << "\n";
      return nullptr;
    }
    io.err << "Error connecting to Serf agent at " << rpc.addr << ": " << e.what()
           << " (is `kong-cluster agent` running? Set --rpc-addr or KONG_CLUSTER_RPC_ADDR to its "
              "RPC address)\n";
  }
  return nullptr;
}

}  // namespace kc::cli
