// Connecting a subcommand to the agent, with the error message scripts rely on.
#pragma once

#include <memory>

#include "agent/cli/commands.h"
#include "agent/rpc/client.h"

namespace kc::cli {

// Connects (handshake + auth). On failure prints one line to io.err, in the form Kong's
// CLI tests look for ("Error connecting to Serf agent ...") plus the address and a hint,
// and returns null.
std::unique_ptr<rpc::Client> connect(const RpcOptions& rpc, Io io);

}  // namespace kc::cli
