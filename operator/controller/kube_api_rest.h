// KubeApi over kube/'s REST client: requests go to the API server, caches are informers.
#pragma once

#include <vector>

#include "kube/rest_client.h"
#include "operator/controller/kube_api.h"

namespace kc::controller {

class RestKubeApi : public KubeApi {
 public:
  explicit RestKubeApi(kube::RestClient& client) : client_(client) {}

  void request(const std::string& method, const std::string& path,
               const std::optional<nlohmann::json>& body, Done done,
               const std::string& content_type) override;
  std::unique_ptr<ObjectCache> watch(const kube::InformerOptions& options,
                                     const std::string& name) override;

  // The informers behind the caches handed out (for their metrics); valid while those caches
  // live.
  const std::vector<const kube::Informer*>& informers() const { return informers_; }

 private:
  kube::RestClient& client_;
  std::vector<const kube::Informer*> informers_;
};

}  // namespace kc::controller
