#include "agent/serf_cli/serf_main.h"

#include <cstring>
#include <map>

#ifndef KC_VERSION
#define KC_VERSION "dev"
#endif

namespace kc::serf_cli {

namespace {

struct Command {
  int (*run)(const Args&, SerfIo);
  const char* synopsis;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> kCommands = {
      {"agent", {agent, "Runs a Serf agent (kong-cluster in Kong mode)"}},
      {"event", {event, "Send a custom event through the Serf cluster"}},
      {"force-leave", {force_leave, "Forces a member of the cluster to enter the \"left\" state"}},
      {"info", {info, "Provides debugging information for operators"}},
      {"join", {join, "Tell Serf agent to join cluster"}},
      {"keygen", {keygen, "Generates a new encryption key"}},
      {"keys", {keys, "Manipulate the internal encryption keyring used by Serf"}},
      {"leave", {leave, "Gracefully leaves the Serf cluster and shuts down"}},
      {"members", {members, "Lists the members of a Serf cluster"}},
      {"monitor", {monitor, "Stream logs from a Serf agent"}},
      {"query", {query, "Send a query to the Serf cluster"}},
      {"reachability", {reachability, "Test network reachability"}},
      {"tags", {tags, "Modify tags of a running Serf agent"}},
      {"version", {version, "Prints the Serf version"}},
  };
  return kCommands;
}

std::string usage() {
  std::string out =
      "Usage: serf [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n";
  for (const auto& [name, c] : commands()) {
    out += "    " + name + std::string(16 - name.size(), ' ') + c.synopsis + "\n";
  }
  return out;
}

}  // namespace

int version(const Args&, SerfIo io) {
  io.out << kKongAcceptedVersion << "\n"
         << "kong-cluster " << KC_VERSION
         << ": Serf 0.9.4 wire and RPC protocol (memberlist 0.2.2); the line above is the "
            "newest Serf version Kong 0.9 and 0.10 both accept\n"
         << "Agent Protocol: 5 (Understands back to: 2)\n";
  return 0;
}

bool invoked_as_serf(const char* argv0) {
  if (!argv0) return false;
  const char* slash = std::strrchr(argv0, '/');
  return std::strcmp(slash ? slash + 1 : argv0, "serf") == 0;
}

int serf_main(const std::vector<std::string>& args, SerfIo io) {
  if (args.empty()) {
    io.flag_err << usage() << "\n";
    return 127;  // serf's CLI library exits 127 without a command
  }
  const std::string& first = args.front();
  if (first == "-v" || first == "-version" || first == "--version") return version({}, io);
  if (first == "-h" || first == "-help" || first == "--help") {
    io.flag_err << usage() << "\n";
    return 0;
  }
  auto it = commands().find(first);
  if (it == commands().end()) {
    io.flag_err << usage() << "\n";
    return 127;
  }
  return it->second.run(Args(args.begin() + 1, args.end()), io);
}

}  // namespace kc::serf_cli
