// Network addresses as text, the way the Go programs we interoperate with write and read them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kc {

// ip:port as Go's net.TCPAddr prints it ("10.0.0.1:7946", "[fe80::1]:7946"): 4 or 16 bytes
// (IPv4-mapped IPv6 prints as IPv4), "" for no address, "?<hex>" for anything else.
std::string format_addr(const std::vector<uint8_t>& ip, uint16_t port);

// "host:port" / "[v6]:port" -> parts; throws std::invalid_argument on a malformed address.
// An empty host (":7373") means every interface, "0.0.0.0", as Go's net.Listen reads it.
std::pair<std::string, uint16_t> split_host_port(const std::string& addr);

}  // namespace kc
