// The agent's own Kubernetes Node, read once at start-up through the Kubernetes client
// (kube): its topology labels give the `dc` and `zone` tags, its addresses the
// node-internal / node-external advertise modes. Needs only `get` on nodes.
//
// The request blocks, before the event loop starts, and is bounded (tries × timeout): the
// agent adds no thread that runs during gossip (cpprestsdk's pool is kept to one idle thread).
#pragma once

#include <chrono>
#include <optional>

#include "agent/agent_config.h"
#include "kube/cluster_id.h"
#include "kube/node_topology.h"

namespace kc::agent {

// Required: a node-* advertise mode without cluster_advertise (no Node, no address).
// Optional: only for the dc/zone tags, so a failure is a warning. None: cluster_tags already
// set both dc and zone, and they win over the Node's labels.
enum class NodeNeed { None, Optional, Required };
NodeNeed node_need(const AgentConfig& c);

struct NodeLookupOptions {
  int attempts = 5;
  std::chrono::seconds request_timeout{5};
  std::chrono::milliseconds first_backoff{500};  // doubles after each failed try
};

// GET /api/v1/nodes/$NODE_NAME with the Kubernetes configuration from cluster_kubeconfig, else
// $KUBECONFIG, else in-cluster. Transport errors, 429 and 5xx are retried; other answers are
// final. Returns nullopt when the Node is not needed, when $NODE_NAME or the configuration is
// absent and the Node is optional, or (with a warning) when an optional Node cannot be read.
// Throws std::runtime_error naming the node and the mode when a required Node cannot be read.
std::optional<kube::NodeTopology> lookup_own_node(const AgentConfig& c,
                                                  const NodeLookupOptions& options = {});

// The identity of the Kubernetes cluster the agent runs in (its `k8s-cluster` tag):
// cluster_k8s_cluster_id when set; else, in a pod ($POD_NAME or $NODE_NAME set, Kubernetes
// configured), the kube-system Namespace's uid; else empty (no tag). A failed read is a
// warning and leaves the tag off: operators then treat the member as untagged
// (--adopt-untagged-members), as they did agents from before the tag existed.
std::string resolve_cluster_id(const AgentConfig& c, const kube::ClusterIdLookup& lookup = {});

}  // namespace kc::agent
