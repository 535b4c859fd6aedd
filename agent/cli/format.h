// Output formatting shared by the subcommands: Kong's `kong cluster members` lines and
// /cluster JSON, serf's JSON and text layouts (columnize), and small parsers for the
// flag values serf accepts (key=value tags, Go durations).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/rpc/agent_api.h"
#include "agent/rpc/protocol.h"

namespace kc::cli {

// ip:port as Go's net.TCPAddr prints it ("10.0.0.1:7946", "[fe80::1]:7946").
std::string format_addr(const rpc::Bytes& ip, uint16_t port);

// `kong cluster members`: "<name>\t<ip:port>\t<status>" per line; `detailed` appends the
// tags ("k=v,k2=v2", sorted) and the Serf protocol ("protocol 5 [2,5]").
std::string members_text(const std::vector<rpc::MemberInfo>& members, bool detailed);
// Kong's GET /cluster body: {"data":[{"address","name","status"}],"total":N}, one line.
std::string members_kong_json(const std::vector<rpc::MemberInfo>& members);
// `serf members -format json`: {"members":[{name, addr, port, tags, status, protocol}]}.
std::string members_serf_json(const std::vector<rpc::MemberInfo>& members);
// `serf members` text: columnized "name  addr  status  tags" ("|Protocol Version: ..." with
// `detailed`), trimmed, one newline at the end (a lone newline when there are no members).
std::string members_serf_text(const std::vector<rpc::MemberInfo>& members, bool detailed);

// `serf info`: "section:\n\tkey = value" sorted, or indented JSON.
std::string stats_text(const rpc::proto::Stats& stats);
std::string stats_json(const rpc::proto::Stats& stats);

// ryanuber/columnize SimpleFormat: fields split on '|', trimmed, padded, joined by 2 spaces.
std::string columnize(const std::vector<std::string>& lines);

// "k=v" pairs (serf's UnmarshalTags); on error returns nullopt and sets `error`
// ("Invalid tag: 'x'").
std::optional<rpc::Tags> parse_tags(const std::vector<std::string>& pairs, std::string& error);

// Go time.ParseDuration subset: "1.5s", "500ms", "1m30s", "2h", "0"; nullopt if invalid.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text);

std::string base64_encode(std::span<const uint8_t> data);

// A decoded stream record rendered roughly like Go's %#v, for `monitor`'s event output.
std::string go_value(const mp::Value& v);

}  // namespace kc::cli
