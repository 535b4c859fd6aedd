// Node tags in memberlist's Meta (serf.go encodeTags/decodeTags; docs/wire.md, "Tags").
#pragma once

#include <span>
#include <string>

#include "agent/serf/member.h"

namespace kc::serf {

inline constexpr uint8_t kTagMagicByte = 0xff;
// memberlist.MetaMaxSize: the encoded tags (with the magic byte) must fit in this.
inline constexpr size_t kMetaMaxSize = 512;

// Serf protocol ≥ 3: ff + msgpack map; protocol 2: the raw value of the "role" tag.
Bytes encode_tags(const Tags& tags, uint8_t protocol_version = 5);

// Empty meta or a first byte other than ff means an old node that only had a role, so the
// whole meta becomes tag "role" (an empty meta gives role=""), as Go does. A malformed map
// keeps the entries decoded before the error; `error` (if given) receives its text.
Tags decode_tags(std::span<const uint8_t> meta, std::string* error = nullptr);

}  // namespace kc::serf
