#include "agent/events/handler_spec.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

namespace kc::events {

namespace {

constexpr const char* kAllowed =
    "member-join, member-leave, member-failed, member-update, member-reap, user, user:NAME, "
    "query, query:NAME or *";

EventFilter parse_filter(std::string_view text) {
  EventFilter f;
  if (text.rfind("user:", 0) == 0) {
    f.event = "user";
    f.name = std::string(text.substr(5));
  } else if (text.rfind("query:", 0) == 0) {
    f.event = "query";
    f.name = std::string(text.substr(6));
  } else {
    f.event = std::string(text);
  }
  return f;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

bool EventFilter::valid() const {
  static const char* const kValid[] = {
      "member-join", "member-leave", "member-failed", "member-update",
      "member-reap", "user",         "query",         "*"};
  return std::ranges::any_of(kValid, [this](const char* v) { return event == v; });
}

bool EventFilter::matches(const serf::Event& e) const {
  if (event == "*") return true;
  if (serf::to_string(serf::event_type(e)) != event) return false;
  if (name.empty()) return true;
  if (auto* u = std::get_if<serf::UserEvent>(&e)) return u->name == name;
  if (auto* q = std::get_if<std::shared_ptr<serf::Query>>(&e)) return *q && (*q)->name == name;
  return true;
}

std::string EventFilter::to_string() const {
  return name.empty() ? event : event + ":" + name;
}

bool HandlerSpec::matches(const serf::Event& e) const {
  return std::ranges::any_of(filters, [&e](const EventFilter& f) { return f.matches(e); });
}

std::string HandlerSpec::to_string() const {
  std::string out;
  for (auto& f : filters) out += (out.empty() ? "" : ",") + f.to_string();
  return out + "=" + command;
}

std::string parse_handler(std::string_view value, HandlerSpec& out) {
  out = {};
  auto eq = value.find('=');
  std::string_view filter = eq == std::string_view::npos ? "" : value.substr(0, eq);
  out.command = trim(eq == std::string_view::npos ? value : value.substr(eq + 1));
  if (out.command.empty()) return "event handler '" + std::string(value) + "' has no command";
  if (trim(filter).empty()) filter = "*";  // serf: no filter means every event
  size_t pos = 0;
  while (pos <= filter.size()) {
    auto comma = filter.find(',', pos);
    auto item = trim(filter.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    auto f = parse_filter(item);
    if (!f.valid())
      return "invalid event filter '" + item + "' in event handler '" + std::string(value) +
             "'; event filters are " + kAllowed;
    out.filters.push_back(std::move(f));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return "";
}

std::string parse_handler_list(const std::vector<std::string>& items,
                               std::vector<HandlerSpec>& out) {
  out.clear();
  std::string pending;  // filters waiting for their command
  for (auto& raw : items) {
    auto item = trim(raw);
    if (item.empty()) continue;
    bool has_eq = item.find('=') != std::string::npos;
    if (!has_eq && parse_filter(item).valid()) {
      pending += (pending.empty() ? "" : ",") + item;
      continue;
    }
    std::string value = item;
    if (!pending.empty()) {
      if (!has_eq)
        return fmt::format("event filters '{}' are followed by '{}', which is not filter=command",
                           pending, item);
      value = pending;
      value.append(",").append(item);
      pending.clear();
    }
    HandlerSpec spec;
    if (auto err = parse_handler(value, spec); !err.empty()) return err;
    out.push_back(std::move(spec));
  }
  if (!pending.empty()) return "event filters '" + pending + "' have no =command after them";
  return "";
}

}  // namespace kc::events
