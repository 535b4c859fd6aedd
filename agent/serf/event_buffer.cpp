#include "agent/serf/event_buffer.h"

#include <algorithm>

namespace kc::serf {

bool EventBuffer::insert(LamportTime ltime, const std::string& name, const Bytes& payload) {
  if (slots_.empty()) return true;
  auto& slot = slots_[ltime % slots_.size()];
  UserEventRecord rec{name, payload};
  if (slot && slot->ltime == ltime) {
    if (std::find(slot->events.begin(), slot->events.end(), rec) != slot->events.end())
      return false;
  } else {
    slot = UserEventSlot{ltime, {}};
  }
  slot->events.push_back(std::move(rec));
  return true;
}

bool QueryBuffer::insert(LamportTime ltime, uint32_t id) {
  if (slots_.empty()) return true;
  auto& slot = slots_[ltime % slots_.size()];
  if (slot && slot->ltime == ltime) {
    if (std::find(slot->ids.begin(), slot->ids.end(), id) != slot->ids.end()) return false;
  } else {
    slot = Slot{ltime, {}};
  }
  slot->ids.push_back(id);
  return true;
}

}  // namespace kc::serf
