// Kong's `nodes` table as the controller uses it: delete a member's row, list the live rows.
// PgNodesStore is the real one over datastore/'s NodesTable; the unit tests use a fake.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datastore/nodes_table.h"

namespace kc::controller {

class NodesStore {
 public:
  virtual ~NodesStore() = default;
  virtual void delete_node(const std::string& name, datastore::Callback<bool> done) = 0;
  virtual void live_nodes(datastore::Callback<std::vector<datastore::NodeRow>> done) = 0;
};

class PgNodesStore : public NodesStore {
 public:
  explicit PgNodesStore(datastore::PgClient& client) : table_(client) {}
  void delete_node(const std::string& name, datastore::Callback<bool> done) override {
    table_.delete_node(name, std::move(done));
  }
  void live_nodes(datastore::Callback<std::vector<datastore::NodeRow>> done) override {
    table_.live_nodes(std::move(done));
  }

 private:
  datastore::NodesTable table_;
};

}  // namespace kc::controller
