#include "agent/rpc/filters.h"

#include <algorithm>
#include <map>

#include "common/go_regexp.h"

namespace kc::rpc {

bool EventFilter::valid() const {
  static const char* const kValid[] = {
      "member-join", "member-leave", "member-failed", "member-update",
      "member-reap", "user",         "query",         "*"};
  return std::ranges::any_of(kValid, [this](const char* v) { return event == v; });
}

std::string event_type_name(const Event& e) {
  if (auto* m = std::get_if<MemberEvent>(&e)) return m->type;
  if (std::holds_alternative<UserEvent>(e)) return "user";
  return "query";
}

bool EventFilter::matches(const Event& e) const {
  if (event == "*") return true;
  if (event_type_name(e) != event) return false;
  if (event == "user" && !name.empty()) return std::get<UserEvent>(e).name == name;
  if (event == "query" && !name.empty()) return std::get<QueryEvent>(e).name == name;
  return true;
}

std::vector<EventFilter> parse_event_filters(std::string_view spec) {
  if (spec.empty()) spec = "*";
  std::vector<EventFilter> out;
  size_t start = 0;
  while (true) {
    size_t comma = spec.find(',', start);
    std::string_view part = spec.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    EventFilter f;
    if (part.starts_with("user:")) {
      f.event = "user";
      f.name = std::string(part.substr(5));
    } else if (part.starts_with("query:")) {
      f.event = "query";
      f.name = std::string(part.substr(6));
    } else {
      f.event = std::string(part);
    }
    out.push_back(std::move(f));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

// Serf compiles each members filter as "^" + expr + "$" with Go's regexp and matches it
// unanchored (so `a|b` becomes `^a|b$`, as in Serf).
std::optional<GoRegexp> anchored(const std::string& expr) {
  return GoRegexp::compile("^" + expr + "$");
}

}  // namespace

std::optional<std::vector<MemberInfo>> filter_members(std::vector<MemberInfo> members,
                                                      const Tags& tags, const std::string& status,
                                                      const std::string& name) {
  std::map<std::string, GoRegexp> tag_re;
  for (const auto& [tag, expr] : tags) {
    auto re = anchored(expr);
    if (!re) return std::nullopt;
    tag_re.emplace(tag, std::move(*re));
  }
  auto status_re = anchored(status);
  auto name_re = anchored(name);
  if (!status_re || !name_re) return std::nullopt;

  std::vector<MemberInfo> out;
  for (auto& m : members) {
    bool ok = std::ranges::all_of(tag_re, [&m](const auto& tag_and_re) {
      auto it = m.tags.find(tag_and_re.first);
      // A missing tag is matched as "" (Go's map lookup yields the zero value).
      return tag_and_re.second.matches(it == m.tags.end() ? std::string_view() : it->second);
    });
    if (ok && !status.empty() && !status_re->matches(m.status)) ok = false;
    if (ok && !name.empty() && !name_re->matches(m.name)) ok = false;
    if (ok) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace kc::rpc
