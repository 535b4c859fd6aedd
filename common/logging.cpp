#include "common/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>

namespace kc::log {

namespace {

const char* serf_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "TRACE";
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "WARN";
    default:
      return "ERR";
  }
}

// Keeps recent lines and fans them out to subscribers (RPC monitor streams).
class RingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<Line> lines() {
    std::lock_guard lock(mutex_);
    return {ring_.begin(), ring_.end()};
  }
  int subscribe(std::function<void(const Line&)> cb) {
    std::lock_guard lock(mutex_);
    subscribers_[next_id_] = std::move(cb);
    return next_id_++;
  }
  void unsubscribe(int id) {
    std::lock_guard lock(mutex_);
    subscribers_.erase(id);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);
    Line line{msg.level,
              fmt::format("{} [{}] {}: {}", stamp, serf_level_name(msg.level),
                          std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                          std::string_view(msg.payload.data(), msg.payload.size()))};
    ring_.push_back(line);
    if (ring_.size() > 512) ring_.pop_front();
    for (auto& [id, cb] : subscribers_) cb(line);
  }
  void flush_() override {}

 private:
  std::deque<Line> ring_;
  std::map<int, std::function<void(const Line&)>> subscribers_;
  int next_id_ = 1;
};

struct Registry {
  std::mutex mutex;
  std::shared_ptr<RingSink> ring = std::make_shared<RingSink>();
  std::shared_ptr<spdlog::sinks::stderr_color_sink_mt> console =
      std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  std::map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.loggers.find(component);
  if (it != r.loggers.end()) return it->second;
  auto logger =
      std::make_shared<spdlog::logger>(component, spdlog::sinks_init_list{r.console, r.ring});
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  logger->set_level(r.level);
  r.loggers[component] = logger;
  return logger;
}

bool set_level(const std::string& level) {
  static const std::map<std::string, spdlog::level::level_enum> names = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"err", spdlog::level::err},     {"error", spdlog::level::err}};
  std::string lower;
  for (char c : level)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto it = names.find(lower);
  if (it == names.end()) return false;
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.level = it->second;
  for (auto& [name, logger] : r.loggers) logger->set_level(it->second);
  return true;
}

std::vector<Line> recent_lines() {
  return registry().ring->lines();
}
int subscribe(std::function<void(const Line&)> callback) {
  return registry().ring->subscribe(std::move(callback));
}
void unsubscribe(int id) {
  registry().ring->unsubscribe(id);
}

}  // namespace kc::log
