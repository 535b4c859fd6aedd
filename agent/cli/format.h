// Output formatting shared by the subcommands: Kong's `kong cluster members` lines and
// /cluster JSON, serf's JSON and text layouts (columnize), and the parser for the key=value
// tags serf accepts (addresses and Go durations are in common/).
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/address.h"
#include "common/duration.h"
#include "serf_client/protocol.h"
#include "serf_client/records.h"

namespace kc::cli {

// `kong cluster members`: "<name>\t<ip:port>\t<status>" per line; `detailed` appends the
// tags ("k=v,k2=v2", sorted) and the Serf protocol ("protocol 5 [2,5]").
std::string members_text(const std::vector<serf_client::MemberInfo>& members, bool detailed);
// Kong's GET /cluster body: {"data":[{"address","name","status"}],"total":N}, one line.
std::string members_kong_json(const std::vector<serf_client::MemberInfo>& members);
// `serf members -format json`: {"members":[{name, addr, port, tags, status, protocol}]}.
std::string members_serf_json(const std::vector<serf_client::MemberInfo>& members);
// `serf members` text: columnized "name  addr  status  tags" ("|Protocol Version: ..." with
// `detailed`), trimmed, one newline at the end (a lone newline when there are no members).
std::string members_serf_text(const std::vector<serf_client::MemberInfo>& members, bool detailed);

// `serf info`: "section:\n\tkey = value" sorted, or indented JSON.
std::string stats_text(const serf_client::proto::Stats& stats);
std::string stats_json(const serf_client::proto::Stats& stats);

// ryanuber/columnize SimpleFormat: fields split on '|', trimmed, padded, joined by 2 spaces.
std::string columnize(const std::vector<std::string>& lines);

// "k=v" pairs (serf's UnmarshalTags); on error returns nullopt and sets `error`
// ("Invalid tag: 'x'").
std::optional<serf_client::Tags> parse_tags(const std::vector<std::string>& pairs,
                                            std::string& error);
// The same, its error written to `report` as every command says it: "Error: ...\n".
std::optional<serf_client::Tags> parse_tags(const std::vector<std::string>& pairs,
                                            std::ostream& report);

std::string base64_encode(std::span<const uint8_t> data);

// A decoded stream record rendered roughly like Go's %#v, for `monitor`'s event output.
std::string go_value(const mp::Value& v);

}  // namespace kc::cli
