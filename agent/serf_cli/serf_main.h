// The `serf` entry point: kong-cluster started under the name `serf` (build/bin/serf is a
// link to kong-cluster) speaks serf's command line, for Kong 0.9/0.10's `serf_path`.
#pragma once

#include <string>
#include <vector>

#include "agent/serf_cli/serf_commands.h"

namespace kc::serf_cli {

// True when argv[0]'s file name is `serf`.
bool invoked_as_serf(const char* argv0);

// Runs `serf <args...>` (args without the program name) and returns the exit code.
int serf_main(const std::vector<std::string>& args, SerfIo io);

}  // namespace kc::serf_cli
