// Where the Kubernetes API is and how to authenticate: from a kubeconfig file (its current
// context: server, CA, bearer token or client certificate) or from inside a pod (the
// service-account token, CA and namespace). The token file is re-read when it changes,
// because kubelet rotates projected service-account tokens (about hourly) and a cached
// token would start getting 401s.
#pragma once

#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace kc::kube {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string server;  // "https://host:port" or "http://host:port"
  std::string ca_pem;  // CA bundle; empty = the system's trust store
  bool insecure = false;
  std::string token;       // static bearer token
  std::string token_file;  // re-read on change (in-cluster, or kubeconfig tokenFile)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string namespace_name = "default";  // the context's (or the pod's) namespace
  std::string source;                      // "kubeconfig /path" or "in-cluster", for logs
};

// The bearer token to send now: the static token, or the token file's content, re-read when
// its modification time or size changes. Thread-safe (called from cpprestsdk's threads).
class TokenSource {
 public:
  explicit TokenSource(const Config& config);
  std::string token();

 private:
  std::mutex mutex_;
  std::string static_token_;
  std::string file_;
  std::string cached_;
  std::timespec mtime_{};
  long long size_ = -1;
};

// Reads a kubeconfig (YAML). `context` empty = current-context. Relative file paths are taken
// from the kubeconfig's folder, as kubectl does. Throws ConfigError.
Config load_kubeconfig(const std::string& path, const std::string& context = "");

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the files in `sa_dir`.
// Throws ConfigError when not in a cluster.
Config load_in_cluster(const std::string& sa_dir);

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// client-go's order: an explicit path, then $KUBECONFIG (first entry), then in-cluster (files
// in `sa_dir`), then ~/.kube/config.
Config load_default(const std::string& explicit_path,
                    const std::string& sa_dir = kServiceAccountDir);

// The same order without ~/.kube/config, and nullopt when none of them is configured: for the
// agent, whose Kubernetes use is optional and must not pick up a user's file by accident.
// Throws ConfigError when one is configured but unusable.
std::optional<Config> load_configured(const std::string& explicit_path,
                                      const std::string& sa_dir = kServiceAccountDir);

}  // namespace kc::kube
