#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/gossip/asio/asio_runtime.h"
#include "agent/gossip/envelope.h"
#include "agent/gossip/stream_framer.h"
#include "common/logging.h"
#include "common/msgpack/reader.h"
#include "common/noexcept_cleanup.h"

namespace kc::gossip {

namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;

net::ip::address to_asio(const Bytes& ip) {
  if (ip.size() == 4) {
    net::ip::address_v4::bytes_type b;
    std::copy(ip.begin(), ip.end(), b.begin());
    return net::ip::address_v4(b);
  }
  if (ip.size() == 16) {
    net::ip::address_v6::bytes_type b;
    std::copy(ip.begin(), ip.end(), b.begin());
    net::ip::address_v6 v6(b);
    // Go sends IPv4 addresses in their 16-byte form (::ffff:a.b.c.d). As IPv6 they cannot go
    // out of an IPv4 socket (EAFNOSUPPORT): every UDP probe to or from such a peer was lost.
    if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6);
    return v6;
  }
  throw std::invalid_argument("IP must be 4 or 16 bytes");
}

Address from_asio(const net::ip::address& ip, uint16_t port) {
  Address a;
  a.port = port;
  if (ip.is_v4()) {
    auto b = ip.to_v4().to_bytes();
    a.ip.assign(b.begin(), b.end());
  } else if (ip.to_v6().is_v4_mapped()) {
    auto b = net::ip::make_address_v4(net::ip::v4_mapped, ip.to_v6()).to_bytes();
    a.ip.assign(b.begin(), b.end());
  } else {
    auto b = ip.to_v6().to_bytes();
    a.ip.assign(b.begin(), b.end());
  }
  return a;
}

namespace {

// Reads from a socket until the framer says one whole message has arrived.
class MessageReader {
 public:
  // Returns the message once complete; nullopt while more is needed. Throws on bad input.
  std::optional<Bytes> feed(const uint8_t* data, size_t n) {
    buf_.insert(buf_.end(), data, data + n);
    if (buf_.size() > kMaxStreamBytes + 64) throw mp::DecodeError("stream message too large");
    auto len = framer_.length(buf_);
    if (!len) return std::nullopt;
    buf_.resize(*len);
    return std::move(buf_);
  }

 private:
  Bytes buf_;
  StreamFramer framer_;
};

}  // namespace

// One accepted connection: read one message, hand it to the handler, write the reply, close.
// Two deadlines: the whole exchange (stream_timeout) and each read (read_timeout).
class AsioTransport::InboundStream : public std::enable_shared_from_this<InboundStream> {
 public:
  InboundStream(AsioTransport& t, tcp::socket sock)
      : t_(t),
        alive_(t.lifetime_.watch()),
        sock_(std::move(sock)),
        timer_(t.io_),
        read_timer_(t.io_) {}

  // Registers with the transport (which keeps it alive until finish) and starts reading.
  void start() {
    t_.inbound_.push_back(shared_from_this());
    slot_ = std::prev(t_.inbound_.end());
    boost::system::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    from_ = from_asio(ep.address(), ep.port());
    timer_.expires_after(t_.options_.stream_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish();
    });
    read();
  }

  // Still waiting for its request (nothing handed to the handler yet): may be shed.
  bool idle() const { return !dispatched_ && !done_; }

  void finish() {
    if (done_) return;
    done_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    read_timer_.cancel();
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
    // Last: erasing our slot may drop the last reference to us.
    if (!alive_.expired()) t_.inbound_.erase(slot_);
  }

 private:
  void read() {
    read_timer_.expires_after(t_.options_.read_timeout);
    read_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->done_) return;
      if (!self->alive_.expired()) ++self->t_.counters_.streams_idle;
      self->finish();
    });
    sock_.async_read_some(
        buf_.buffer(), [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const boost::system::error_code& ec, size_t n) {
    if (ec || done_) return finish();
    read_timer_.cancel();
    std::optional<Bytes> msg;
    try {
      msg = reader_.feed(buf_.data(), n);
    } catch (const mp::DecodeError& e) {
      kc::log::get("memberlist")->warn("Bad stream from {}: {}", from_.to_string(), e.what());
      return finish();
    }
    if (!msg) return read();
    if (alive_.expired() || !t_.on_stream_) return finish();
    dispatched_ = true;
    auto self = shared_from_this();
    t_.on_stream_(from_, std::move(*msg), [self](Bytes reply) { self->reply(std::move(reply)); });
  }

  void reply(Bytes data) {
    if (done_ || data.empty()) return finish();
    reply_ = std::move(data);
    net::async_write(
        sock_, net::buffer(reply_),
        [self = shared_from_this()](const boost::system::error_code&, size_t) { self->finish(); });
  }

  AsioTransport& t_;
  LifetimeToken::Watch alive_;
  tcp::socket sock_;
  net::steady_timer timer_;
  net::steady_timer read_timer_;
  std::list<std::shared_ptr<InboundStream>>::iterator slot_;
  Address from_;
  ReadBuffer<16384> buf_;
  MessageReader reader_;
  Bytes reply_;
  bool dispatched_ = false;
  bool done_ = false;
};

// One outgoing exchange: connect, write, optionally read one message, with a deadline.
class AsioTransport::OutboundStream : public std::enable_shared_from_this<OutboundStream> {
 public:
  OutboundStream(net::io_context& io, Bytes request, bool expect_reply, ReplyHandler done)
      : sock_(io),
        timer_(io),
        request_(std::move(request)),
        expect_reply_(expect_reply),
        done_(std::move(done)) {}

  void start(const Address& to, Duration timeout) {
    if (!to.has_valid_ip()) {  // never thrown into the event loop
      net::post(sock_.get_executor(),
                [self = shared_from_this()] { self->complete(std::nullopt, "not an IP address"); });
      return;
    }
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->complete(std::nullopt, "i/o timeout");
    });
    tcp::endpoint ep(to_asio(to.ip), to.port);
    sock_.async_connect(ep, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->complete(std::nullopt, ec.message());
      self->write();
    });
  }

 private:
  void write() {
    net::async_write(sock_, net::buffer(request_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (ec) return self->complete(std::nullopt, ec.message());
                       if (!self->expect_reply_) return self->complete(std::nullopt, "");
                       self->read();
                     });
  }

  void read() {
    sock_.async_read_some(
        buf_.buffer(), [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (ec) return self->complete(std::nullopt, ec == net::error::eof ? "EOF" : ec.message());
          try {
            if (auto msg = self->reader_.feed(self->buf_.data(), n))
              return self->complete(std::move(msg), "");
          } catch (const mp::DecodeError& e) {
            return self->complete(std::nullopt, e.what());
          }
          self->read();
        });
  }

  void complete(std::optional<Bytes> reply, std::string error) {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    sock_.close(ignored);
    auto done = std::move(done_);
    done(std::move(reply), std::move(error));
  }

  tcp::socket sock_;
  net::steady_timer timer_;
  Bytes request_;
  bool expect_reply_;
  ReplyHandler done_;
  ReadBuffer<16384> buf_;
  MessageReader reader_;
  bool finished_ = false;
};

AsioTransport::AsioTransport(net::io_context& io, AsioTransportOptions options)
    : io_(io), options_(std::move(options)), udp_(io), acceptor_(io) {
  Address bind = Address::parse(options_.bind);
  auto ip = to_asio(bind.ip);
  // TCP first (port 0 picks one), then UDP on the same port number.
  tcp::endpoint tcp_ep(ip, bind.port);
  acceptor_.open(tcp_ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor_.bind(tcp_ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind TCP " + options_.bind);
  acceptor_.listen(net::socket_base::max_listen_connections);
  uint16_t port = acceptor_.local_endpoint().port();
  udp::endpoint udp_ep(ip, port);
  udp_.open(udp_ep.protocol());
  udp_.bind(udp_ep, ec);
  if (ec)
    throw std::system_error(ec, "cannot bind UDP " + bind.ip_string() + ":" + std::to_string(port));
  udp_.non_blocking(true);
  // memberlist asks for a 2 MiB receive buffer so bursts of gossip are not dropped.
  for (int size = 2 << 20; size >= 64 << 10; size /= 2) {
    udp_.set_option(net::socket_base::receive_buffer_size(size), ec);
    if (!ec) break;
  }
  local_ = from_asio(ip, port);
}

AsioTransport::~AsioTransport() {
  noexcept_cleanup([this] { close(); });
}

void AsioTransport::set_handlers(PacketHandler on_packet, StreamHandler on_stream) {
  on_packet_ = std::move(on_packet);
  on_stream_ = std::move(on_stream);
  receive_packet();
  accept();
}

void AsioTransport::receive_packet() {
  udp_.async_receive_from(
      recv_buf_.buffer(), recv_from_,
      [this, alive = lifetime_.watch()](const boost::system::error_code& ec, size_t n) {
        if (alive.expired() || closed_) return;
        if (!ec && n > 0 && on_packet_)
          on_packet_(from_asio(recv_from_.address(), recv_from_.port()),
                     std::span<const uint8_t>(recv_buf_.data(), n));
        receive_packet();
      });
}

void AsioTransport::accept() {
  acceptor_.async_accept(
      [this, alive = lifetime_.watch()](const boost::system::error_code& ec, tcp::socket sock) {
        if (alive.expired() || closed_) return;
        if (!ec) {
          if (inbound_.size() < options_.max_inbound_streams || shed_oldest_idle()) {
            std::make_shared<InboundStream>(*this, std::move(sock))->start();
          } else {
            ++counters_.streams_shed;  // every slot is busy with a real exchange: refuse this one
          }
        }
        accept();
      });
}

bool AsioTransport::shed_oldest_idle() {
  auto idle = std::ranges::find_if(inbound_, [](const auto& stream) { return stream->idle(); });
  if (idle == inbound_.end()) return false;
  ++counters_.streams_shed;
  auto keep = *idle;  // finish() erases the slot that holds it
  keep->finish();
  return true;
}

void AsioTransport::send_packet(const Address& to, Bytes data) {
  if (closed_) return;
  if (!to.has_valid_ip()) {  // never thrown into the event loop
    ++send_failed_;
    return;
  }
  boost::system::error_code ec;
  // A non-blocking send: a full socket buffer drops the datagram, as a lossy network would.
  udp_.send_to(net::buffer(data), udp::endpoint(to_asio(to.ip), to.port), 0, ec);
  if (ec) ++send_failed_;
}

void AsioTransport::stream_request(const Address& to, Bytes request, bool expect_reply,
                                   Duration timeout, ReplyHandler done) {
  if (closed_) {
    net::post(io_, [done] { done(std::nullopt, "transport closed"); });
    return;
  }
  std::make_shared<OutboundStream>(io_, std::move(request), expect_reply, std::move(done))
      ->start(to, timeout);
}

void AsioTransport::close() {
  if (closed_) return;
  closed_ = true;
  lifetime_.end();
  boost::system::error_code ignored;
  udp_.close(ignored);
  acceptor_.close(ignored);
  auto open = std::move(inbound_);  // finish() must not erase from the list we walk
  inbound_.clear();
  for (auto& stream : open) stream->finish();
}

}  // namespace kc::gossip
