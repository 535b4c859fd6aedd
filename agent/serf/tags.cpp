#include "agent/serf/tags.h"

#include "common/msgpack/reader.h"
#include "common/msgpack/writer.h"

namespace kc::serf {

Bytes encode_tags(const Tags& tags, uint8_t protocol_version) {
  if (protocol_version < 3) {
    auto it = tags.find("role");
    if (it == tags.end()) return {};
    return Bytes(it->second.begin(), it->second.end());
  }
  Bytes out{kTagMagicByte};
  mp::Writer w(out);
  w.map(tags.size());
  for (const auto& [k, v] : tags) w.str(k).str(v);
  return out;
}

Tags decode_tags(std::span<const uint8_t> meta, std::string* error) {
  Tags tags;
  if (meta.empty() || meta[0] != kTagMagicByte) {
    tags["role"] = std::string(meta.begin(), meta.end());
    return tags;
  }
  try {
    auto doc = mp::Document::parse(meta.subspan(1));
    auto root = doc.root();
    if (!root.is_map() && !root.is_nil()) throw mp::DecodeError("msgpack: expected map");
    // Go decodes entry by entry into the map, so a bad value keeps the earlier entries.
    for (auto& [k, v] : root.entries()) tags[k] = v.string();
  } catch (const mp::DecodeError& e) {
    if (error) *error = e.what();
  }
  return tags;
}

}  // namespace kc::serf
