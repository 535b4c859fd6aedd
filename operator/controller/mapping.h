// The rules that decide which member belongs to which pod and which members may be pruned,
// as pure functions over plain values so they are unit-tested without any server.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kube/resources.h"

namespace kc::controller {

struct Member {
  std::string name;
  std::string address;  // ip:port
  std::string status;   // alive, leaving, left, failed
  std::map<std::string, std::string> tags;
  int protocol = 0;
  // memberlist's incarnation, from an agent's HTTP API (Serf's RPC does not carry it).
  std::optional<uint64_t> incarnation;
};

// Whether `m` is the member of `pod`: by the `uid` tag when the member has one (a pod
// re-created under the same name is another pod), else by the `pod` and `namespace` tags.
// Never by the member's name: names are the agents' business.
bool member_of_pod(const Member& m, const kube::PodView& pod);

// Whether the member carries Kubernetes tags at all (members outside Kubernetes are left to
// their operators).
bool has_pod_tags(const Member& m);

// A pod whose member must never be force-left, whatever gossip says: Running, Ready, not
// being deleted, on a Node that is Ready.
bool pod_protected(const kube::PodView& pod, bool node_ready);

enum class PruneReason { PodDeleted, PodFailed, NodeNotReady, Orphan };
const char* to_string(PruneReason r);

// A Kubernetes object name for a member name (RFC 1123 subdomain: lower case, [a-z0-9.-],
// starting and ending alphanumeric, at most 253 characters).
std::string clusternode_name(const std::string& member);

// ClusterNode .status for a member: memberName, address, status, dc, zone, node, pod,
// protocol, incarnation when known. (lastTransitionTime and conditions are added by the caller,
// which knows the previous status.)
struct MemberStatus {
  std::string member, address, status, dc, zone, node, pod, ns;
  int protocol = 0;
  std::optional<uint64_t> incarnation;
  bool operator==(const MemberStatus&) const = default;
};
MemberStatus status_of(const Member& m);

}  // namespace kc::controller
