// Checks for what HTTP clients send. Kong 0.x interpolated `address` and `name` unquoted
// into a shell command line; we never use a shell, but still refuse anything that is not a
// plausible address or node name, with a message saying why.
#pragma once

#include <string>

namespace kc::agent_http {

// "host:port", "host" (serf's default port 7946 applies), "[v6]:port" or "v6"; host an IP
// literal or a DNS name. Returns "" or the reason.
std::string check_join_address(const std::string& address);
// 1-256 bytes, no control characters, no surrounding whitespace. Returns "" or the reason.
std::string check_node_name(const std::string& name);

}  // namespace kc::agent_http
