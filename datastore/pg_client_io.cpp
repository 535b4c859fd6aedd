// PgClient: moving bytes between the stream and the protocol state machine. One read is
// always pending while connected: that is how a server shutdown or a dropped connection is
// noticed at once, not at the next statement.
#include "common/logging.h"
#include "datastore/pg_client.h"
#include "datastore/pg_protocol.h"
#include "datastore/pg_stream.h"

namespace kc::datastore {

void PgClient::read_more() {
  if (!stream_) return;
  stream_->read(lifetime_.wrap(
      [this, gen = stream_gen_](boost::system::error_code ec, std::string_view bytes) {
        if (gen != stream_gen_) return;
        on_read(ec, bytes);
      }));
}

void PgClient::on_read(boost::system::error_code ec, std::string_view bytes) {
  if (ec) {
    stream_failed(ec == boost::asio::error::eof ? "the server closed the connection"
                                                : "socket: " + ec.message());
    return;
  }
  protocol_->receive(bytes);
  if (protocol_->failure()) {
    on_protocol_failure();
    return;
  }
  if (state_ == State::connecting && protocol_->idle()) {
    on_connected();
  } else if (state_ == State::ready) {
    take_steps();
    pump();
  }
  if (state_ != State::connecting && state_ != State::ready) return;
  flush();  // authentication answers while connecting
  read_more();
}

void PgClient::on_protocol_failure() {
  const ProtocolFailure& f = *protocol_->failure();
  if (f.cause == ProtocolFailure::Cause::malformed ||
      f.cause == ProtocolFailure::Cause::unsupported)
    ++metrics_.protocol_errors;
  std::string message = f.message;
  std::string sqlstate = f.sqlstate.empty() ? "08P01" : f.sqlstate;
  if (state_ == State::connecting)
    connect_failed(message, sqlstate);
  else
    connection_lost(PgError::Kind::lost, message, sqlstate);
}

void PgClient::flush() {
  if (writing_ || !stream_ || !protocol_ || !protocol_->has_output()) return;
  writing_ = true;
  stream_->write(protocol_->take_output(),
                 lifetime_.wrap([this, gen = stream_gen_](boost::system::error_code ec) {
                   if (gen != stream_gen_) return;
                   writing_ = false;
                   if (ec) {
                     stream_failed("socket: " + ec.message());
                     return;
                   }
                   flush();
                 }));
}

void PgClient::stream_failed(const std::string& message) {
  if (state_ == State::connecting)
    connect_failed(message);
  else if (state_ == State::ready)
    connection_lost(PgError::Kind::lost, message);
}

}  // namespace kc::datastore
