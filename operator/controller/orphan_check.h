// Whether a member with pod tags but no pod in the informer cache is really an orphan: the
// cache may lag, so only a fresh GET from the API server decides. A member known by uid whose
// pod name now holds another pod (another uid) is an orphan too; one with only a uid tag
// cannot be looked up and is left alone.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "common/lifetime.h"
#include "operator/controller/kube_api.h"
#include "operator/controller/mapping.h"

namespace kc::controller {

class OrphanCheck {
 public:
  // `watched_ns`: the agent pods' namespace, empty for all; pods outside it are not judged.
  OrphanCheck(KubeApi& kube, std::string watched_ns);

  // GETs `m`'s pod and calls `gone` when the server says it does not exist; nothing when it
  // exists, on an error, or when a check of `m` is already running.
  void check(const Member& m, std::function<void()> gone);

 private:
  KubeApi& kube_;
  std::string ns_;
  std::set<std::string> running_;  // member names
  LifetimeToken lifetime_;
};

}  // namespace kc::controller
