#include "agent/cli/format.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/cli/go_json.h"

namespace kc::cli {

namespace {

// Invalid UTF-8 in names or tags must not abort the output (Go substitutes U+FFFD too).
std::string dump(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string tags_text(const serf_client::Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) {
    if (!out.empty()) out += ",";
    out.append(k).append("=").append(v);
  }
  return out;
}

// Go's fmt width counts runes, not bytes.
size_t rune_count(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n\v\f");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string members_text(const std::vector<serf_client::MemberInfo>& members, bool detailed) {
  std::string out;
  for (const auto& m : members) {
    out += m.name + "\t" + format_addr(m.addr, m.port) + "\t" + m.status;
    if (detailed) {
      out += "\t" + tags_text(m.tags) + "\tprotocol " + std::to_string(m.delegate_cur) + " [" +
             std::to_string(m.delegate_min) + "," + std::to_string(m.delegate_max) + "]";
    }
    out += "\n";
  }
  return out;
}

std::string members_kong_json(const std::vector<serf_client::MemberInfo>& members) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (const auto& m : members) {
    data.push_back(
        {{"address", format_addr(m.addr, m.port)}, {"name", m.name}, {"status", m.status}});
  }
  nlohmann::ordered_json j = {{"data", data}, {"total", members.size()}};
  return dump(j, -1) + "\n";
}

std::string members_serf_json(const std::vector<serf_client::MemberInfo>& members) {
  // Go's json.MarshalIndent(v, "", "  ") of serf's MemberContainer: map keys sorted, a nil
  // slice as null, Go's string escaping.
  if (members.empty()) return "{\n  \"members\": null\n}\n";
  std::string out = "{\n  \"members\": [";
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    out += i ? ",\n    {\n" : "\n    {\n";
    out += "      \"name\": " + go_json_quote(m.name) + ",\n";
    out += "      \"addr\": " + go_json_quote(format_addr(m.addr, m.port)) + ",\n";
    out += "      \"port\": " + std::to_string(m.port) + ",\n";
    if (m.tags.empty()) {
      out += "      \"tags\": {},\n";
    } else {
      out += "      \"tags\": {";
      bool first = true;
      for (const auto& [k, v] : m.tags) {
        out += first ? "\n" : ",\n";
        first = false;
        out += "        " + go_json_quote(k) + ": " + go_json_quote(v);
      }
      out += "\n      },\n";
    }
    out += "      \"status\": " + go_json_quote(m.status) + ",\n";
    out += "      \"protocol\": {\n";
    out += "        \"max\": " + std::to_string(m.delegate_max) + ",\n";
    out += "        \"min\": " + std::to_string(m.delegate_min) + ",\n";
    out += "        \"version\": " + std::to_string(m.delegate_cur) + "\n";
    out += "      }\n    }";
  }
  return out + "\n  ]\n}\n";
}

std::string members_serf_text(const std::vector<serf_client::MemberInfo>& members, bool detailed) {
  std::vector<std::string> lines;
  for (const auto& m : members) {
    std::string line =
        m.name + "|" + format_addr(m.addr, m.port) + "|" + m.status + "|" + tags_text(m.tags);
    if (detailed) {
      line += "|Protocol Version: " + std::to_string(m.delegate_cur) +
              "|Available Protocol Range: [" + std::to_string(m.delegate_min) + ", " +
              std::to_string(m.delegate_max) + "]";
    }
    lines.push_back(std::move(line));
  }
  // serf trims the whole output before printing it with a newline.
  return trim(columnize(lines)) + "\n";
}

std::string stats_text(const serf_client::proto::Stats& stats) {
  std::string out;
  for (const auto& [section, values] : stats) {
    out += section + ":\n";
    for (const auto& [k, v] : values)
      out.append("\t").append(k).append(" = ").append(v).append("\n");
  }
  return trim(out) + "\n";
}

std::string stats_json(const serf_client::proto::Stats& stats) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [section, values] : stats) {
    j[section] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : values) j[section][k] = v;
  }
  return dump(j, 2) + "\n";
}

std::string columnize(const std::vector<std::string>& lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> widths;
  for (const auto& line : lines) {
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      size_t bar = line.find('|', start);
      cells.push_back(
          trim(line.substr(start, bar == std::string::npos ? std::string::npos : bar - start)));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], rune_count(cells[i]));
    }
    rows.push_back(std::move(cells));
  }
  std::string out;
  for (const auto& cells : rows) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - rune_count(cells[i]) + 2, ' ');
    }
    out += "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::optional<serf_client::Tags> parse_tags(const std::vector<std::string>& pairs,
                                            std::string& error) {
  serf_client::Tags out;
  for (const auto& p : pairs) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "Invalid tag: '" + p + "'";
      return std::nullopt;
    }
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

std::optional<serf_client::Tags> parse_tags(const std::vector<std::string>& pairs,
                                            std::ostream& report) {
  std::string error;
  auto tags = parse_tags(pairs, error);
  if (!tags) report << "Error: " << error << "\n";
  return tags;
}

std::string base64_encode(std::span<const uint8_t> data) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = data[i] << 16;
    if (rest == 2) v |= data[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string go_value(const mp::Value& v) {
  if (v.is_nil()) return "<nil>";
  if (v.is_map()) {
    std::string out = "map[string]interface {}{";
    bool first = true;
    for (auto& [k, val] : v.entries()) {
      if (!first) out += ", ";
      first = false;
      out += "\"" + k + "\":" + go_value(val);
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[]interface {}{";
    bool first = true;
    for (auto& item : v.items()) {
      if (!first) out += ", ";
      first = false;
      out += go_value(item);
    }
    return out + "}";
  }
  // Scalars: try each interpretation the value allows.
  try {
    return "\"" + v.string() + "\"";
  } catch (const mp::DecodeError&) {
  }
  try {
    serf_client::Bytes b = v.bytes();
    std::string out = "[]byte{";
    char hex[8];
    for (size_t i = 0; i < b.size(); ++i) {
      std::snprintf(hex, sizeof hex, i ? ", 0x%x" : "0x%x", b[i]);
      out += hex;
    }
    return out + "}";
  } catch (const mp::DecodeError&) {
  }
  try {
    return std::to_string(v.sint());
  } catch (const mp::DecodeError&) {
  }
  try {
    return std::to_string(v.uint());
  } catch (const mp::DecodeError&) {
  }
  try {
    std::ostringstream os;
    os << v.f64();
    return os.str();
  } catch (const mp::DecodeError&) {
  }
  try {
    return v.boolean() ? "true" : "false";
  } catch (const mp::DecodeError&) {
  }
  return "?";
}

}  // namespace kc::cli
