#include "kube/config.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kube/yaml.h"

namespace kc::kube {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string base64_decode(const std::string& in, const std::string& what) {
  std::string clean;
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  if (clean.size() % 4 != 0) throw ConfigError(what + ": not base64");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) throw ConfigError(what + ": not base64");
  // EVP_DecodeBlock counts the padding as output bytes.
  size_t pad = 0;
  if (!clean.empty() && clean.back() == '=') ++pad;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

const nlohmann::json* named(const nlohmann::json& doc, const char* list, const std::string& name,
                            const char* field) {
  if (!doc.contains(list) || !doc[list].is_array()) return nullptr;
  for (auto& e : doc[list])
    if (e.is_object() && e.value("name", "") == name && e.contains(field)) return &e[field];
  return nullptr;
}

std::string str(const nlohmann::json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return "";
  return o[key].get<std::string>();
}

// "file or inline data": kubeconfig's `x` (path) and `x-data` (base64) pairs.
std::string file_or_data(const nlohmann::json& o, const std::string& key, const std::string& dir) {
  auto data = str(o, (key + "-data").c_str());
  if (!data.empty()) return base64_decode(data, key + "-data");
  auto path = str(o, key.c_str());
  if (path.empty()) return "";
  if (path[0] != '/') path = dir + "/" + path;
  return read_file(path);
}

}  // namespace

TokenSource::TokenSource(const Config& config)
    : static_token_(config.token), file_(config.token_file) {}

std::string TokenSource::token() {
  if (file_.empty()) return static_token_;
  std::lock_guard lock(mutex_);
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) return cached_;  // keep the last one while it is replaced
  if (st.st_mtim.tv_sec != mtime_.tv_sec || st.st_mtim.tv_nsec != mtime_.tv_nsec ||
      st.st_size != size_) {
    try {
      cached_ = trim(read_file(file_));
      mtime_ = st.st_mtim;
      size_ = st.st_size;
    } catch (const ConfigError&) {
    }
  }
  return cached_;
}

Config load_kubeconfig(const std::string& path, const std::string& context) {
  nlohmann::json doc;
  try {
    doc = yaml_to_json(read_file(path));
  } catch (const std::runtime_error& e) {
    throw ConfigError(path + ": " + e.what());
  }
  if (!doc.is_object()) throw ConfigError(path + ": not a kubeconfig");
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = path.substr(0, slash);
  std::string ctx_name = context.empty() ? str(doc, "current-context") : context;
  const nlohmann::json* ctx = named(doc, "contexts", ctx_name, "context");
  if (!ctx) throw ConfigError(path + ": context \"" + ctx_name + "\" not found");
  const nlohmann::json* cluster = named(doc, "clusters", str(*ctx, "cluster"), "cluster");
  if (!cluster) throw ConfigError(path + ": cluster \"" + str(*ctx, "cluster") + "\" not found");
  Config c;
  c.source = "kubeconfig " + path;
  c.server = str(*cluster, "server");
  if (c.server.empty()) throw ConfigError(path + ": cluster has no server");
  c.ca_pem = file_or_data(*cluster, "certificate-authority", dir);
  c.insecure = str(*cluster, "insecure-skip-tls-verify") == "true";
  if (const nlohmann::json* user = named(doc, "users", str(*ctx, "user"), "user")) {
    c.token = str(*user, "token");
    c.token_file = str(*user, "tokenFile");
    if (!c.token_file.empty() && c.token_file[0] != '/') c.token_file = dir + "/" + c.token_file;
    c.client_cert_pem = file_or_data(*user, "client-certificate", dir);
    c.client_key_pem = file_or_data(*user, "client-key", dir);
  }
  auto ns = str(*ctx, "namespace");
  if (!ns.empty()) c.namespace_name = ns;
  return c;
}

Config load_in_cluster(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    throw ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  Config c;
  c.source = "in-cluster";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 service address
  c.server = "https://" + h + ":" + port;
  c.token_file = sa_dir + "/token";
  c.ca_pem = read_file(sa_dir + "/ca.crt");
  try {
    c.namespace_name = trim(read_file(sa_dir + "/namespace"));
  } catch (const ConfigError&) {
  }
  TokenSource probe(c);
  if (probe.token().empty()) throw ConfigError("in-cluster: no token in " + c.token_file);
  return c;
}

std::optional<Config> load_configured(const std::string& explicit_path, const std::string& sa_dir) {
  if (!explicit_path.empty()) return load_kubeconfig(explicit_path);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string first = env;
    first = first.substr(0, first.find(':'));
    return load_kubeconfig(first);
  }
  if (std::getenv("KUBERNETES_SERVICE_HOST")) return load_in_cluster(sa_dir);
  return std::nullopt;
}

Config load_default(const std::string& explicit_path, const std::string& sa_dir) {
  if (auto c = load_configured(explicit_path, sa_dir)) return *c;
  const char* home = std::getenv("HOME");
  if (home) {
    std::string p = std::string(home) + "/.kube/config";
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return load_kubeconfig(p);
  }
  throw ConfigError(
      "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a pod");
}

}  // namespace kc::kube
