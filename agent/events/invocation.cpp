#include "agent/events/invocation.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace kc::events {

namespace {

// invoke.go eventClean: tabs and newlines would break the line format.
std::string clean(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

std::string role_of(const serf::Tags& tags) {
  auto it = tags.find("role");
  return it == tags.end() ? "" : it->second;
}

std::string payload_input(const serf::Bytes& payload) {
  std::string s(payload.begin(), payload.end());
  if (!s.empty() && s.back() != '\n') s.push_back('\n');
  return s;
}

}  // namespace

std::string tag_env_name(const std::string& tag) {
  std::string out;
  for (unsigned char c : tag) {
    char u = static_cast<char>(std::toupper(c));
    out.push_back((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ? u : '_');
  }
  return out;
}

std::string member_event_input(const serf::MemberEvent& e) {
  std::string out;
  for (auto& m : e.members) {
    std::string tags;
    for (auto& [k, v] : m.tags)
      tags.append(tags.empty() ? "" : ",").append(k).append("=").append(v);
    // Go prints member.Addr (a net.IP): the address without the port.
    out += clean(m.name) + "\t" + m.addr.ip_string() + "\t" + clean(role_of(m.tags)) + "\t" +
           clean(tags) + "\n";
  }
  return out;
}

std::vector<std::string> process_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

bool env_name_allowed(const std::string& name, const std::vector<std::string>& patterns) {
  return std::ranges::any_of(patterns, [&name](const std::string& p) {
    if (!p.empty() && p.back() == '*')
      return name.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0;
    return name == p;
  });
}

std::vector<std::string> handler_environment(const std::vector<std::string>& env,
                                             const std::vector<std::string>& allow) {
  static const std::vector<std::string> kBasics = {"PATH", "HOME",     "USER", "LOGNAME", "SHELL",
                                                   "LANG", "LANGUAGE", "LC_*", "TZ",      "TMPDIR",
                                                   "TERM", "HOSTNAME", "PWD"};
  std::vector<std::string> out;
  for (auto& entry : env) {
    auto name = entry.substr(0, entry.find('='));
    if (env_name_allowed(name, kBasics) || env_name_allowed(name, allow)) out.push_back(entry);
  }
  return out;
}

Invocation make_invocation(const serf::Event& e, const serf::Member& self,
                           const std::vector<std::string>& base_env) {
  // Later entries win, as Go's exec does with duplicate names.
  std::vector<std::pair<std::string, std::string>> add = {
      {"SERF_EVENT", serf::to_string(serf::event_type(e))},
      {"SERF_SELF_NAME", self.name},
      {"SERF_SELF_ROLE", role_of(self.tags)},
  };
  for (auto& [k, v] : self.tags) add.emplace_back("SERF_TAG_" + tag_env_name(k), v);
  Invocation inv;
  if (auto* m = std::get_if<serf::MemberEvent>(&e)) {
    inv.input = member_event_input(*m);
  } else if (auto* u = std::get_if<serf::UserEvent>(&e)) {
    add.emplace_back("SERF_USER_EVENT", u->name);
    add.emplace_back("SERF_USER_LTIME", std::to_string(u->ltime));
    inv.input = payload_input(u->payload);
  } else if (auto* q = std::get_if<std::shared_ptr<serf::Query>>(&e); q && *q) {
    add.emplace_back("SERF_QUERY_NAME", (*q)->name);
    add.emplace_back("SERF_QUERY_LTIME", std::to_string((*q)->ltime));
    inv.input = payload_input((*q)->payload);
  }
  std::map<std::string, std::string> overridden;
  for (auto& [k, v] : add) overridden[k] = v;
  for (auto& entry : base_env) {
    auto eq = entry.find('=');
    if (eq != std::string::npos && overridden.contains(entry.substr(0, eq))) continue;
    inv.env.push_back(entry);
  }
  for (auto& [k, v] : overridden) inv.env.push_back(fmt::format("{}={}", k, v));
  return inv;
}

}  // namespace kc::events
