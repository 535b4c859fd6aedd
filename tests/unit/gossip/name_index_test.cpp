// The member table's name index: finds, inserts and erases under collisions and growth, as
// a std::map of the same names would.
#include "agent/gossip/name_index.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>

#include "agent/gossip/interned.h"

using namespace kc::gossip;

namespace {

struct Row {
  Interned name;
};

}  // namespace

TEST(GossipNameIndex, AgreesWithAMapThroughChurn) {
  NameIndex<Row> index;
  std::map<std::string, std::unique_ptr<Row>> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    std::string name = "node-" + std::to_string(rng() % 600);
    if (auto it = model.find(name); it != model.end()) {
      ASSERT_EQ(index.find(name), it->second.get());
      if (rng() % 2) {
        index.erase(name);
        model.erase(it);
      }
    } else {
      ASSERT_EQ(index.find(name), nullptr);
      auto row = std::make_unique<Row>(Row{Interned(name)});
      index.insert(row.get());
      model.emplace(name, std::move(row));
    }
    ASSERT_EQ(index.size(), model.size());
  }
  for (auto& [name, row] : model) EXPECT_EQ(index.find(name), row.get());
  EXPECT_EQ(index.find("absent"), nullptr);
  index.erase("absent");  // nothing to erase: no change
  EXPECT_EQ(index.size(), model.size());
}

TEST(GossipNameIndex, EmptyIndexFindsNothing) {
  NameIndex<Row> index;
  EXPECT_EQ(index.find("x"), nullptr);
  index.erase("x");
  EXPECT_EQ(index.size(), 0u);
}
