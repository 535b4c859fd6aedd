#include "agent/rpc/filters.h"

#include <boost/regex.hpp>
#include <map>

namespace kc::rpc {

bool EventFilter::valid() const {
  static const char* const kValid[] = {
      "member-join", "member-leave", "member-failed", "member-update",
      "member-reap", "user",         "query",         "*"};
  for (const char* v : kValid)
    if (event == v) return true;
  return false;
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
    std::string_view part =
        spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
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

// Perl syntax is the closest to Go's RE2 that we have; Boost.Regex bounds the work a
// pathological pattern can cause (it throws instead of running for ever).
std::optional<boost::regex> anchored(const std::string& expr) {
  try {
    return boost::regex("^" + expr + "$", boost::regex::perl);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::vector<MemberInfo>> filter_members(std::vector<MemberInfo> members,
                                                      const Tags& tags, const std::string& status,
                                                      const std::string& name) {
  std::map<std::string, boost::regex> tag_re;
  for (const auto& [tag, expr] : tags) {
    auto re = anchored(expr);
    if (!re) return std::nullopt;
    tag_re.emplace(tag, std::move(*re));
  }
  auto status_re = anchored(status);
  auto name_re = anchored(name);
  if (!status_re || !name_re) return std::nullopt;

  std::vector<MemberInfo> out;
  try {
    for (auto& m : members) {
      bool ok = true;
      for (const auto& [tag, re] : tag_re) {
        auto it = m.tags.find(tag);
        // A missing tag is matched as "" (Go's map lookup yields the zero value).
        if (!boost::regex_match(it == m.tags.end() ? std::string() : it->second, re)) {
          ok = false;
          break;
        }
      }
      if (ok && !status.empty() && !boost::regex_match(m.status, *status_re)) ok = false;
      if (ok && !name.empty() && !boost::regex_match(m.name, *name_re)) ok = false;
      if (ok) out.push_back(std::move(m));
    }
  } catch (const std::exception&) {
    return std::nullopt;  // complexity limit exceeded
  }
  return out;
}

}  // namespace kc::rpc
