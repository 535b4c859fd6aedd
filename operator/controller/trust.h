// Which pods the operator believes are agents, and what it refuses to prune on their word.
// Any pod can carry the agent's labels; only the agent DaemonSet's own pods (controller
// owner reference to it by name and uid, under its ServiceAccount) are sent the RPC token
// and asked about membership. Pure functions over plain values, unit-tested without servers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kube/resources.h"
#include "operator/controller/mapping.h"

namespace kc::controller {

struct AgentIdentity {
  std::string ns;               // the agent DaemonSet's namespace
  std::string daemonset;        // its name
  std::string daemonset_uid;    // read from the API; while unknown, no pod is trusted
  std::string service_account;  // the agents' spec.serviceAccountName; empty: not checked
  // --insecure-trust-selector: every pod the label selector matches is an agent (the old
  // behaviour, for clusters without the DaemonSet, such as the local demo).
  bool trust_selector = false;
};

// Whether `pod` is one of the agent DaemonSet's pods: owned by it (controller=true, kind
// DaemonSet, apps/v1, name and uid), in its namespace, under the expected ServiceAccount.
bool verified_agent(const kube::PodView& pod, const AgentIdentity& id);

// Whether the member's gossip address is this pod's: the pod IP, or the host IP for agents
// that advertise their Node's address; and the pod's gossip port when it names one.
bool member_at_pod(const Member& m, const kube::PodView& pod);

// Whether `m` gossips from the address of one of `live_agents` (verified agent pods that are
// Running and Ready on Ready Nodes), so its process is evidently still serving, whatever any
// tags say. The address stops counting as `m`'s once another alive member gossips from it
// (an agent re-created on the same node address under a new name).
bool address_protected(const Member& m, const std::vector<kube::PodView>& live_agents,
                       const std::map<std::string, Member>& members);

// Whether two agents' reports of one member agree on what the prune rules read: its address
// and its uid, pod and namespace tags.
bool reports_agree(const Member& a, const Member& b);

}  // namespace kc::controller
