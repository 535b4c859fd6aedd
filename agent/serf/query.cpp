#include "agent/serf/query.h"

#include <algorithm>

#include "common/go_regexp.h"
#include "common/msgpack/reader.h"

namespace kc::serf {

std::vector<Bytes> QueryParam::encode_filters() const {
  std::vector<Bytes> out;
  if (!filter_nodes.empty()) out.push_back(encode_node_filter(filter_nodes));
  for (const auto& [tag, expr] : filter_tags) out.push_back(encode_tag_filter({tag, expr}));
  return out;
}

void QueryResponse::close() {
  if (closed_) return;
  closed_ = true;
  // Moved out first: the callback may drop the last reference to this object.
  auto done = std::move(on_done);
  on_ack = nullptr;
  on_response = nullptr;
  if (done) done();
}

bool QueryResponse::add_ack(const std::string& from) {
  if (!ack_requested_ || closed_) return false;
  if (std::find(acks_.begin(), acks_.end(), from) != acks_.end()) return false;
  acks_.push_back(from);
  if (on_ack) on_ack(from);
  return true;
}

bool QueryResponse::add_response(NodeResponse r) {
  if (closed_) return false;
  for (const auto& existing : responses_)
    if (existing.from == r.from) return false;
  responses_.push_back(std::move(r));
  if (on_response) on_response(responses_.back());
  return true;
}

MessageQueryResponse Query::create_response(const Bytes& payload) const {
  MessageQueryResponse r;
  r.ltime = ltime;
  r.id = id;
  if (auto s = responder_.lock()) r.from = s->local_name();
  r.payload = payload;
  return r;
}

std::string Query::respond_with(const Bytes& raw, const MessageQueryResponse& resp) {
  auto s = responder_.lock();
  if (!s) return "serf is shut down";
  if (raw.size() > s->response_size_limit())
    return "response exceeds limit of " + std::to_string(s->response_size_limit()) + " bytes";
  if (responded_) return "response already sent";
  if (s->now() > deadline) return "response is past the deadline";
  auto err = s->send_response(*this, raw, resp);
  if (!err.empty()) return err;
  responded_ = true;
  return {};
}

std::string Query::respond(const Bytes& payload) {
  auto resp = create_response(payload);
  auto raw = encode(resp);
  auto err = respond_with(raw, resp);
  // Go wraps every respond error this way, whatever the query.
  if (!err.empty()) return "failed to respond to key query: " + err;
  return {};
}

bool should_process_query(const std::vector<Bytes>& filters, const std::string& node_name,
                          const Tags& tags, std::string* warning) {
  auto warn = [&](const std::string& text) {
    if (warning) *warning = text;
    return false;
  };
  for (const auto& filter : filters) {
    if (filter.empty()) return warn("query has an empty filter");
    std::span<const uint8_t> body(filter.data() + 1, filter.size() - 1);
    switch (static_cast<FilterType>(filter[0])) {
      case FilterType::Node: {
        std::vector<std::string> nodes;
        try {
          nodes = decode_node_filter(body);
        } catch (const mp::DecodeError& e) {
          return warn(std::string("failed to decode filterNodeType: ") + e.what());
        }
        if (std::find(nodes.begin(), nodes.end(), node_name) == nodes.end()) return false;
        break;
      }
      case FilterType::Tag: {
        FilterTag f;
        try {
          f = decode_tag_filter(body);
        } catch (const mp::DecodeError& e) {
          return warn(std::string("failed to decode filterTagType: ") + e.what());
        }
        // Go's regexp.MatchString: unanchored; a missing tag is matched as "".
        std::string error;
        auto re = GoRegexp::compile(f.expr, &error);
        if (!re) return warn("failed to compile filter regex (" + f.expr + "): " + error);
        auto it = tags.find(f.tag);
        if (!re->matches(it == tags.end() ? std::string_view() : it->second)) return false;
        break;
      }
      default:
        return warn("query has unrecognized filter type: " + std::to_string(filter[0]));
    }
  }
  return true;
}

std::vector<Member> k_random_members(size_t k, const std::vector<Member>& members,
                                     const std::function<bool(const Member&)>& skip,
                                     std::mt19937_64& rng) {
  std::vector<Member> out;
  size_t n = members.size();
  if (n == 0) return out;
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  for (size_t i = 0; i < 3 * n && out.size() < k; ++i) {
    const Member& m = members[pick(rng)];
    if (skip && skip(m)) continue;
    bool dup =
        std::any_of(out.begin(), out.end(), [&](const Member& o) { return o.name == m.name; });
    if (!dup) out.push_back(m);
  }
  return out;
}

}  // namespace kc::serf
