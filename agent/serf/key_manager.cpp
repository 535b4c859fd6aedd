#include "agent/serf/key_manager.h"

#include <memory>

#include "agent/gossip/crypto/keyring.h"
#include "agent/serf/serf.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"

namespace kc::serf {

std::string base64_error(const std::string& text) {
  // The first byte outside the alphabet, or the length where the padding goes wrong.
  auto ok = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '\r' || c == '\n';
  };
  size_t pos = 0;
  while (pos < text.size() && ok(text[pos])) ++pos;
  return "illegal base64 data at input byte " + std::to_string(pos);
}

void KeyManager::install_key(const std::string& key, Done done, uint8_t relay_factor) {
  request(key, "install-key", std::move(done), relay_factor);
}
void KeyManager::use_key(const std::string& key, Done done, uint8_t relay_factor) {
  request(key, "use-key", std::move(done), relay_factor);
}
void KeyManager::remove_key(const std::string& key, Done done, uint8_t relay_factor) {
  request(key, "remove-key", std::move(done), relay_factor);
}
void KeyManager::list_keys(Done done, uint8_t relay_factor) {
  request("", "list-keys", std::move(done), relay_factor);
}

void KeyManager::request(const std::string& key_base64, const std::string& query, Done done,
                         uint8_t relay_factor) {
  struct State {
    KeyResponse resp;
    Done done;
    bool finished = false;
    std::shared_ptr<QueryResponse> query;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);

  auto raw_key = gossip::base64_decode(key_base64);
  if (!raw_key) return st->done(st->resp, base64_error(key_base64));

  Bytes req = encode(KeyRequest{*raw_key});
  QueryParam params = serf_.default_query_params();
  params.relay_factor = relay_factor;
  std::string err;
  auto q = serf_.query("_serf_" + query, req, params, &err);
  if (!q) return st->done(st->resp, err);
  st->query = q;
  st->resp.num_nodes = static_cast<int>(serf_.memberlist().num_alive());

  auto finish = [st] {
    if (st->finished) return;
    st->finished = true;
    auto& r = st->resp;
    std::string error;
    if (r.num_err != 0) {
      error =
          std::to_string(r.num_err) + "/" + std::to_string(r.num_nodes) + " nodes reported failure";
    } else if (r.num_resp != r.num_nodes) {
      error = std::to_string(r.num_resp) + "/" + std::to_string(r.num_nodes) +
              " nodes reported success";
    }
    st->query.reset();  // breaks the cycle query → callbacks → state
    st->done(r, error);
  };

  auto log = serf_.log_;
  q->on_response = [st, finish, log](const NodeResponse& r) {
    if (st->finished) return;
    auto& resp = st->resp;
    resp.num_resp++;
    if (r.payload.empty() || r.payload[0] != static_cast<uint8_t>(MessageType::KeyResponse)) {
      resp.messages[r.from] =
          "Invalid key query response type: " + std::string(r.payload.begin(), r.payload.end());
      resp.num_err++;
    } else {
      try {
        auto nr = decode_key_response(std::span<const uint8_t>(r.payload).subspan(1));
        if (!nr.result) {
          resp.messages[r.from] = nr.message;
          resp.num_err++;
        }
        if (nr.result && !nr.message.empty()) {
          resp.messages[r.from] = nr.message;
          log->warn("{}", nr.message);
        }
        if (nr.keys)
          for (const auto& k : *nr.keys) resp.keys[k]++;
        resp.primary_keys[nr.primary_key]++;
      } catch (const mp::DecodeError&) {
        resp.messages[r.from] = "Failed to decode key query response: " +
                                std::string(r.payload.begin(), r.payload.end());
        resp.num_err++;
      }
    }
    // Go stops reading once every live node has answered; the query runs on unheard.
    if (resp.num_resp == resp.num_nodes) finish();
  };
  q->on_done = finish;
  // Our own answer may already be in (we process our query first).
  auto already = q->responses();
  for (const auto& r : already) {
    if (st->finished) break;
    q->on_response(r);
  }
}

}  // namespace kc::serf
