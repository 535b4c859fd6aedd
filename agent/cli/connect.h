// Connecting a subcommand to the agent, with the error message scripts rely on.
#pragma once

#include <memory>

#include "agent/cli/commands.h"
#include "serf_client/client.h"

namespace kc::cli {

// Connects (handshake + auth). On failure prints one line to io.err, in the form Kong's
// CLI tests look for ("Error connecting to Serf agent ...") plus the address and a hint,
// and returns null.
// With rpc.serf_errors the line is serf's instead.
std::unique_ptr<serf_client::Client> connect(const RpcOptions& rpc, Io io);

// A connection error as Go's net.Dial words it for `addr` ("dial tcp ADDR: connect:
// connection refused"); errors it does not recognise are returned unchanged.
std::string go_dial_error(const std::string& addr, const std::string& error);

}  // namespace kc::cli
