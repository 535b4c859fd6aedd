// A blocking RPC client for the CLI (and tests), speaking serf's IPC v1 to our agent or to
// a real serf agent. It owns a private io_context: the CLI process does nothing else.
//
// Replies and stream records share one connection; records for a running stream, monitor
// or query that arrive while a call waits for its reply are kept for next_record().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "serf_client/protocol.h"
#include "serf_client/records.h"

namespace kc::serf_client {

// The agent could not be reached or the connection failed (connect, I/O, timeout, close).
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The agent answered with an error string (exactly as sent).
class RemoteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  std::string addr = "127.0.0.1:7373";
  std::string auth_key;  // sent with `auth` right after the handshake when not empty
  std::chrono::milliseconds connect_timeout{10000};
  // How long a call waits for its reply. Join and leave can take a while on a large
  // cluster (serf's own client waits without limit).
  std::chrono::milliseconds reply_timeout{std::chrono::minutes(5)};
};

struct StreamRecord {
  uint64_t seq = 0;
  mp::Document body;
};

class Client {
 public:
  // Connects, performs the handshake and (with a key) auth. Throws ClientError, RemoteError.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Makes SIGINT/SIGTERM end a wait in next_record() (it returns Interrupted).
  void interrupt_on_signals();

  // ---- request/reply ----
  struct Reply {
    std::string error;
    std::optional<mp::Document> body;
  };
  // Sends `command` with an optional pre-encoded body and waits for its reply; when
  // `reply_body`, the reply's body is read (serf sends it even with an error). Does not
  // throw RemoteError: the caller looks at `error`.
  Reply call(std::string_view command, const Bytes* body, bool reply_body);

  std::vector<MemberInfo> members();
  std::vector<MemberInfo> members_filtered(const Tags& tags, const std::string& status,
                                           const std::string& name);
  int join(const std::vector<std::string>& addrs, bool replay);
  // `gone`: the member is confirmed gone for good (ForceLeaveRequest::gone; implies prune).
  void force_leave(const std::string& node, bool prune, bool gone = false);
  void leave();
  void user_event(const std::string& name, const Bytes& payload, bool coalesce);
  void update_tags(const Tags& tags, const std::vector<std::string>& delete_tags);
  // Key operations return the result even on error (result.error set), as the CLI prints
  // the per-node messages in that case.
  KeyResult key_op(KeyOp op, const std::string& key);
  proto::Stats stats();
  std::optional<Coordinate> coordinate(const std::string& node);
  void respond(uint64_t id, const Bytes& payload);

  // ---- streams: each returns the sequence number its records carry ----
  uint64_t stream(const std::string& filter);
  uint64_t monitor(const std::string& level);
  uint64_t query(const QueryParams& params, bool payload_nil = true);
  void stop(uint64_t seq);

  enum class Wait { Record, Timeout, Interrupted };
  // Waits for the next record of any running stream (nullopt timeout = no limit).
  Wait next_record(StreamRecord& out, std::optional<std::chrono::milliseconds> timeout);

 private:
  uint64_t start_stream(std::string_view command, const Bytes& body);
  void send(std::string_view command, uint64_t seq, const Bytes* body);
  void write_all(const Bytes& data, std::chrono::steady_clock::time_point deadline);
  // Next msgpack object from the socket; false on timeout/interrupt (state in wait_).
  bool read_object(mp::Document& out, std::chrono::steady_clock::time_point deadline);
  bool fill(std::chrono::steady_clock::time_point deadline);
  Reply expect_ok(std::string_view command, const Bytes* body, bool reply_body);

  ClientOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::signal_set> signals_;
  bool interrupted_ = false;
  Wait wait_ = Wait::Record;
  Bytes in_;
  size_t off_ = 0;
  uint64_t seq_ = 0;
  std::set<uint64_t> streams_;  // running: every header for these carries a record body
  std::set<uint64_t> stopped_;  // stopped: late records still carry bodies to skip
  std::deque<StreamRecord> early_;
  std::optional<uint64_t> record_header_;  // header read, record body not yet
};

}  // namespace kc::serf_client
