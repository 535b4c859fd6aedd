#include "operator/controller/kube_api_rest.h"

namespace kc::controller {

namespace {

class InformerCache : public ObjectCache {
 public:
  InformerCache(kube::RestClient& client, const kube::InformerOptions& options,
                const std::string& name)
      : informer_(client, options, name) {}
  void set_handler(Handler handler) override { informer_.set_handler(std::move(handler)); }
  void start() override { informer_.start(); }
  bool synced() const override { return informer_.synced(); }
  const std::map<std::string, nlohmann::json>& items() const override { return informer_.items(); }
  const nlohmann::json* get(const std::string& key) const override { return informer_.get(key); }
  const kube::Informer& informer() const { return informer_; }

 private:
  kube::Informer informer_;
};

}  // namespace

void RestKubeApi::request(const std::string& method, const std::string& path,
                          const std::optional<nlohmann::json>& body, Done done,
                          const std::string& content_type) {
  client_.request(method, path, body, std::move(done), content_type);
}

std::unique_ptr<ObjectCache> RestKubeApi::watch(const kube::InformerOptions& options,
                                                const std::string& name) {
  auto cache = std::make_unique<InformerCache>(client_, options, name);
  informers_.push_back(&cache->informer());
  return cache;
}

}  // namespace kc::controller
