// Vivaldi network coordinates (serf/coordinate; docs/wire.md, "Coordinates"): the coordinate a node
// sends in its ping acks, and the client that updates ours from measured RTTs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace kc::serf::coordinate {

using Bytes = std::vector<uint8_t>;

struct Config {
  size_t dimensionality = 8;
  double vivaldi_error_max = 1.5;
  double vivaldi_ce = 0.25;
  double vivaldi_cc = 0.25;
  size_t adjustment_window_size = 20;
  double height_min = 10.0e-6;
  size_t latency_filter_size = 3;
  double gravity_rho = 150.0;
};

struct Coordinate {
  std::vector<double> vec;
  double error = 0;
  double adjustment = 0;
  double height = 0;

  static Coordinate initial(const Config& c);
  bool is_valid() const;  // no NaN or infinite component
  bool is_compatible_with(const Coordinate& o) const { return vec.size() == o.vec.size(); }
  // Estimated RTT, with both adjustments applied if that keeps it positive.
  std::chrono::nanoseconds distance_to(const Coordinate& o) const;
  double raw_distance_to(const Coordinate& o) const;  // seconds
  bool operator==(const Coordinate&) const = default;
};

// msgpack {Adjustment, Error, Height, Vec} as go-msgpack writes it.
Bytes encode(const Coordinate& c);
// Throws kc::mp::DecodeError.
Coordinate decode(std::span<const uint8_t> data);

class Client {
 public:
  explicit Client(Config config = {}, uint64_t seed = 1);

  const Coordinate& coordinate() const { return coord_; }
  // Rejected coordinates and RTTs give the reason (Go's error text); nothing changes then.
  // On success returns an empty string.
  std::string update(const std::string& node, const Coordinate& other,
                     std::chrono::nanoseconds rtt);
  void forget_node(const std::string& node) { latency_samples_.erase(node); }
  int resets() const { return resets_; }
  std::chrono::nanoseconds distance_to(const Coordinate& o) const { return coord_.distance_to(o); }

 private:
  Coordinate apply_force(const Coordinate& c, double force, const Coordinate& other);
  double latency_filter(const std::string& node, double rtt_seconds);
  void update_vivaldi(const Coordinate& other, double rtt_seconds);
  void update_adjustment(const Coordinate& other, double rtt_seconds);
  void update_gravity();

  Config config_;
  Coordinate coord_;
  Coordinate origin_;
  size_t adjustment_index_ = 0;
  std::vector<double> adjustment_samples_;
  std::map<std::string, std::vector<double>> latency_samples_;
  int resets_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace kc::serf::coordinate
