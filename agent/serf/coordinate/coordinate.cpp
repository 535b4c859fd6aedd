#include "agent/serf/coordinate/coordinate.h"

#include <algorithm>
#include <cmath>

#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"

namespace kc::serf::coordinate {

namespace {

constexpr double kZeroThreshold = 1.0e-6;

bool component_valid(double f) {
  return std::isfinite(f);
}

double magnitude(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

std::vector<double> diff(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] - b[i];
  return out;
}

}  // namespace

Coordinate Coordinate::initial(const Config& c) {
  return Coordinate{std::vector<double>(c.dimensionality, 0.0), c.vivaldi_error_max, 0.0,
                    c.height_min};
}

bool Coordinate::is_valid() const {
  for (double x : vec)
    if (!component_valid(x)) return false;
  return component_valid(error) && component_valid(adjustment) && component_valid(height);
}

double Coordinate::raw_distance_to(const Coordinate& o) const {
  return magnitude(diff(vec, o.vec)) + height + o.height;
}

std::chrono::nanoseconds Coordinate::distance_to(const Coordinate& o) const {
  double dist = raw_distance_to(o);
  double adjusted = dist + adjustment + o.adjustment;
  if (adjusted > 0.0) dist = adjusted;
  return std::chrono::nanoseconds(static_cast<int64_t>(dist * 1.0e9));
}

Bytes encode(const Coordinate& c) {
  Bytes out;
  mp::Writer w(out);
  w.map(4);
  w.key("Adjustment").f64(c.adjustment);
  w.key("Error").f64(c.error);
  w.key("Height").f64(c.height);
  w.key("Vec");
  w.array(c.vec.size());
  for (double x : c.vec) w.f64(x);
  return out;
}

Coordinate decode(std::span<const uint8_t> data) {
  auto doc = mp::Document::parse(data);
  auto r = doc.root();
  Coordinate c;
  for (auto& v : r.get("Vec").items()) c.vec.push_back(v.f64());
  c.error = r.get("Error").f64();
  c.adjustment = r.get("Adjustment").f64();
  c.height = r.get("Height").f64();
  return c;
}

Client::Client(Config config, uint64_t seed)
    : config_(config),
      coord_(Coordinate::initial(config)),
      origin_(Coordinate::initial(config)),
      adjustment_samples_(config.adjustment_window_size, 0.0),
      rng_(seed) {}

Coordinate Client::apply_force(const Coordinate& c, double force, const Coordinate& other) {
  Coordinate ret = c;
  std::vector<double> unit = diff(c.vec, other.vec);
  double mag = magnitude(unit);
  if (mag > kZeroThreshold) {
    for (auto& x : unit) x /= mag;
  } else {
    // Coincident points: push in a random direction so that they can separate.
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& x : unit) x = u(rng_) - 0.5;
    double m = magnitude(unit);
    if (m > kZeroThreshold) {
      for (auto& x : unit) x /= m;
    } else {
      std::fill(unit.begin(), unit.end(), 0.0);
      if (!unit.empty()) unit[0] = 1.0;
    }
    mag = 0.0;
  }
  for (size_t i = 0; i < ret.vec.size(); ++i) ret.vec[i] += unit[i] * force;
  if (mag > kZeroThreshold) {
    ret.height = (ret.height + other.height) * force / mag + ret.height;
    ret.height = std::max(ret.height, config_.height_min);
  }
  return ret;
}

double Client::latency_filter(const std::string& node, double rtt_seconds) {
  auto& samples = latency_samples_[node];
  samples.push_back(rtt_seconds);
  if (samples.size() > config_.latency_filter_size) samples.erase(samples.begin());
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  return sorted[sorted.size() / 2];
}

void Client::update_vivaldi(const Coordinate& other, double rtt_seconds) {
  double dist = static_cast<double>(coord_.distance_to(other).count()) / 1.0e9;
  if (rtt_seconds < kZeroThreshold) rtt_seconds = kZeroThreshold;
  double wrongness = std::abs(dist - rtt_seconds) / rtt_seconds;
  double total_error = coord_.error + other.error;
  if (total_error < kZeroThreshold) total_error = kZeroThreshold;
  double weight = coord_.error / total_error;
  coord_.error =
      config_.vivaldi_ce * weight * wrongness + coord_.error * (1.0 - config_.vivaldi_ce * weight);
  if (coord_.error > config_.vivaldi_error_max) coord_.error = config_.vivaldi_error_max;
  double force = config_.vivaldi_cc * weight * (rtt_seconds - dist);
  coord_ = apply_force(coord_, force, other);
}

void Client::update_adjustment(const Coordinate& other, double rtt_seconds) {
  if (config_.adjustment_window_size == 0) return;
  double dist = coord_.raw_distance_to(other);
  adjustment_samples_[adjustment_index_] = rtt_seconds - dist;
  adjustment_index_ = (adjustment_index_ + 1) % config_.adjustment_window_size;
  double sum = 0;
  for (double s : adjustment_samples_) sum += s;
  coord_.adjustment = sum / (2.0 * static_cast<double>(config_.adjustment_window_size));
}

void Client::update_gravity() {
  double dist = static_cast<double>(origin_.distance_to(coord_).count()) / 1.0e9;
  double force = -1.0 * std::pow(dist / config_.gravity_rho, 2.0);
  coord_ = apply_force(coord_, force, origin_);
}

std::string Client::update(const std::string& node, const Coordinate& other,
                           std::chrono::nanoseconds rtt) {
  if (!coord_.is_compatible_with(other)) return "dimensions aren't compatible";
  if (!other.is_valid()) return "coordinate is invalid";
  if (rtt < std::chrono::nanoseconds(0) || rtt > std::chrono::seconds(10))
    return "round trip time not in valid range";
  double rtt_seconds = latency_filter(node, static_cast<double>(rtt.count()) / 1.0e9);
  update_vivaldi(other, rtt_seconds);
  update_adjustment(other, rtt_seconds);
  update_gravity();
  if (!coord_.is_valid()) {
    ++resets_;
    coord_ = Coordinate::initial(config_);
  }
  return {};
}

}  // namespace kc::serf::coordinate
