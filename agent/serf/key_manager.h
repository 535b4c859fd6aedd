// Cluster-wide key management (keymanager.go): runs the _serf_install-key / use-key /
// remove-key / list-keys queries and tallies the answers of every node.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace kc::serf {

class Serf;

struct KeyResponse {
  std::map<std::string, std::string> messages;  // node → message (errors, warnings)
  int num_nodes = 0;                            // memberlist's live node count
  int num_resp = 0;
  int num_err = 0;
  std::map<std::string, int> keys;          // base64 key → nodes that have it
  std::map<std::string, int> primary_keys;  // base64 key → nodes using it as primary
};

class KeyManager {
 public:
  // error: "" or Serf's text ("3/4 nodes reported failure", "2/3 nodes reported success", a
  // base64 error, or the query's own error).
  using Done = std::function<void(const KeyResponse&, const std::string& error)>;

  explicit KeyManager(Serf& serf) : serf_(serf) {}

  void install_key(const std::string& key_base64, Done done, uint8_t relay_factor = 0);
  void use_key(const std::string& key_base64, Done done, uint8_t relay_factor = 0);
  void remove_key(const std::string& key_base64, Done done, uint8_t relay_factor = 0);
  void list_keys(Done done, uint8_t relay_factor = 0);

 private:
  void request(const std::string& key_base64, const std::string& query, Done done,
               uint8_t relay_factor);
  Serf& serf_;
};

// Go's base64 error text: "illegal base64 data at input byte N".
std::string base64_error(const std::string& text);

}  // namespace kc::serf
