// The Kubernetes API as the controller uses it: requests by path (GET of one object, create,
// patch, delete, Events) and watched caches of a collection. RestKubeApi (kube_api_rest.h)
// is the real one over kube/'s REST client and informers; the unit tests use an in-memory
// fake, so the controller's rules run in milliseconds without a server.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kube/informer.h"
#include "kube/response.h"

namespace kc::controller {

// A watched collection's local copy (an informer's cache), keyed "namespace/name" or "name".
class ObjectCache {
 public:
  using Handler = kube::Informer::Handler;
  virtual ~ObjectCache() = default;
  virtual void set_handler(Handler handler) = 0;
  virtual void start() = 0;
  virtual bool synced() const = 0;
  virtual const std::map<std::string, nlohmann::json>& items() const = 0;
  virtual const nlohmann::json* get(const std::string& key) const = 0;
};

class KubeApi {
 public:
  using Done = std::function<void(kube::Response)>;
  virtual ~KubeApi() = default;
  // `path` as kube/resources.h builds them; `done` runs later on the io_context.
  virtual void request(const std::string& method, const std::string& path,
                       const std::optional<nlohmann::json>& body, Done done,
                       const std::string& content_type = "application/json") = 0;
  void get(const std::string& path, Done done) {
    request("GET", path, std::nullopt, std::move(done));
  }
  // A cache of the collection `options` names, filled once start() is called.
  virtual std::unique_ptr<ObjectCache> watch(const kube::InformerOptions& options,
                                             const std::string& name) = 0;
};

}  // namespace kc::controller
