#include "agent/serf/internal_query.h"

#include "agent/gossip/crypto/keyring.h"
#include "agent/serf/serf.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

namespace kc::serf {

void InternalQueries::handle(const std::shared_ptr<Query>& q) {
  std::string name = q->name.substr(std::string(kPrefix).size());
  if (name == "ping") {
    // Nothing to do: the generic ack was already sent.
  } else if (name == "conflict") {
    handle_conflict(*q);
  } else if (name == "install-key") {
    handle_key_change(*q, "install");
  } else if (name == "use-key") {
    handle_key_change(*q, "use");
  } else if (name == "remove-key") {
    handle_key_change(*q, "remove");
  } else if (name == "list-keys") {
    handle_list_keys(*q);
  } else {
    serf_.log_->warn("Unhandled internal query '{}'", name);
  }
}

void InternalQueries::handle_conflict(Query& q) {
  std::string node(q.payload.begin(), q.payload.end());
  // The node whose name is contested does not vote.
  if (node == serf_.name()) return;
  serf_.log_->debug("Got conflict resolution query for '{}'", node);
  auto* ms = serf_.find(node);
  Bytes buf = encode_conflict_response(ms ? &ms->member : nullptr);
  auto err = q.respond(buf);
  if (!err.empty()) serf_.log_->error("Failed to respond to conflict query: {}", err);
}

void InternalQueries::handle_key_change(Query& q, const char* op) {
  NodeKeyResponse response;
  auto& log = serf_.log_;
  KeyRequest req;
  try {
    // Go slices Payload[1:] without a type check; an empty payload is a decode failure here.
    if (q.payload.empty()) throw mp::DecodeError("empty key request");
    req = decode_key_request(std::span<const uint8_t>(q.payload).subspan(1));
  } catch (const mp::DecodeError& e) {
    log->error("Failed to decode key request: {}", e.what());
    return send_key_response(q, response);
  }
  if (!serf_.encryption_enabled()) {
    response.message = "No keyring to modify (encryption not enabled)";
    log->error("No keyring to modify (encryption not enabled)");
    return send_key_response(q, response);
  }
  auto ring = serf_.memberlist().keyring();
  std::string what = op;
  gossip::KeyringError err;
  if (what == "install") {
    log->info("Received install-key query");
    err = ring->add_key(req.key);
    if (err) log->error("Failed to install key: {}", *err);
  } else if (what == "use") {
    log->info("Received use-key query");
    err = ring->use_key(req.key);
    if (err) log->error("Failed to change primary key: {}", *err);
  } else {
    log->info("Received remove-key query");
    err = ring->remove_key(req.key);
    if (err) log->error("Failed to remove key: {}", *err);
  }
  if (err) {
    response.message = *err;
    return send_key_response(q, response);
  }
  if (!serf_.config_.keyring_file.empty()) {
    if (auto werr = gossip::save_keyring_file(serf_.config_.keyring_file, *ring)) {
      response.message = *werr;
      log->error("Failed to write keyring file: {}", *werr);
      return send_key_response(q, response);
    }
  }
  response.result = true;
  send_key_response(q, response);
}

void InternalQueries::handle_list_keys(Query& q) {
  NodeKeyResponse response;
  if (!serf_.encryption_enabled()) {
    response.message = "Keyring is empty (encryption not enabled)";
    serf_.log_->error("Keyring is empty (encryption not enabled)");
    return send_key_response(q, response);
  }
  serf_.log_->info("Received list-keys query");
  auto ring = serf_.memberlist().keyring();
  response.keys.emplace();
  for (const auto& k : ring->keys()) response.keys->push_back(gossip::base64_encode(k));
  response.primary_key = gossip::base64_encode(ring->primary());
  response.result = true;
  send_key_response(q, response);
}

std::optional<FittedKeyResponse> fit_key_list_response(const Query& q, NodeKeyResponse& resp,
                                                       size_t limit) {
  size_t actual = resp.keys ? resp.keys->size() : 0;
  size_t max_keys = limit / InternalQueries::kMinEncodedKeyLength;
  for (size_t i = max_keys + 1; i-- > 0;) {
    Bytes buf = encode(resp);
    auto qresp = q.create_response(buf);
    Bytes raw = encode(qresp);
    if (raw.size() > limit) {
      if (resp.keys && resp.keys->size() > i) resp.keys->resize(i);
      resp.message = "truncated key list response, showing first " + std::to_string(i) + " of " +
                     std::to_string(actual) + " keys";
      continue;
    }
    return FittedKeyResponse{std::move(raw), std::move(qresp)};
  }
  return std::nullopt;
}

void InternalQueries::send_key_response(Query& q, NodeKeyResponse& resp) {
  auto& log = serf_.log_;
  if (q.name == "_serf_list-keys") {
    size_t actual = resp.keys ? resp.keys->size() : 0;
    auto fitted = fit_key_list_response(q, resp, serf_.config_.query_response_size_limit);
    if (!fitted) {
      log->error("Failed to truncate response so that it fits into message");
      return;
    }
    if (resp.keys && actual > resp.keys->size()) log->warn("{}", resp.message);
    auto err = q.respond_with(fitted->raw, fitted->response);
    if (!err.empty()) log->error("Failed to respond to key query: {}", err);
    return;
  }
  auto err = q.respond(encode(resp));
  if (!err.empty()) log->error("Failed to respond to key query: {}", err);
}

}  // namespace kc::serf
