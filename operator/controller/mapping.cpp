#include "operator/controller/mapping.h"

#include <array>
#include <cctype>

#include "common/enum_names.h"

namespace kc::controller {

namespace {
std::string tag(const Member& m, const char* key) {
  auto it = m.tags.find(key);
  return it == m.tags.end() ? "" : it->second;
}
}  // namespace

bool has_pod_tags(const Member& m) {
  return !tag(m, "uid").empty() || (!tag(m, "pod").empty() && !tag(m, "namespace").empty());
}

bool member_of_pod(const Member& m, const kube::PodView& pod) {
  auto uid = tag(m, "uid");
  if (!uid.empty()) return uid == pod.uid;
  return !pod.name.empty() && tag(m, "pod") == pod.name && tag(m, "namespace") == pod.ns;
}

bool pod_protected(const kube::PodView& pod, bool node_ready) {
  return pod.phase == "Running" && pod.ready && !pod.deleting && node_ready;
}

const char* to_string(PruneReason r) {
  static constexpr std::array<const char*, 4> kNames{"pod_deleted", "pod_failed", "node_not_ready",
                                                     "orphan"};
  static_assert(names_every_value(kNames, PruneReason::Orphan));
  return enum_name(r, kNames);
}

std::string clusternode_name(const std::string& member) {
  std::string out;
  for (char c : member) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (c == '.' || c == '-') {
      out.push_back(c);
    } else {
      out.push_back('-');
    }
  }
  if (out.size() > 253) out.resize(253);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  if (out.empty()) out = "member";
  return out;
}

MemberStatus status_of(const Member& m) {
  MemberStatus s;
  s.member = m.name;
  s.address = m.address;
  s.status = m.status;
  s.dc = tag(m, "dc");
  s.zone = tag(m, "zone");
  s.node = tag(m, "node");
  s.pod = tag(m, "pod");
  s.ns = tag(m, "namespace");
  s.protocol = m.protocol;
  s.incarnation = m.incarnation;
  return s;
}

}  // namespace kc::controller
