#include "kube/rest_client.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <mutex>

namespace kc::kube {

namespace http = web::http;
namespace client = web::http::client;

namespace {

// Posts work from cpprestsdk's threads onto the io_context for as long as the RestClient
// lives; afterwards completions are dropped (the io_context may be gone too).
struct Poster {
  std::mutex mutex;
  boost::asio::io_context* io = nullptr;

  void post(std::function<void()> fn) {
    std::lock_guard lock(mutex);
    if (io) boost::asio::post(*io, std::move(fn));
  }
  void close() {
    std::lock_guard lock(mutex);
    io = nullptr;
  }
};

client::http_client_config make_config(const Config& c, std::chrono::seconds timeout) {
  client::http_client_config cfg;
  cfg.set_timeout(timeout);
  cfg.set_validate_certificates(!c.insecure);
  std::string ca = c.ca_pem;
  std::string cert = c.client_cert_pem;
  std::string key = c.client_key_pem;
  cfg.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
    if (!ca.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
    if (!cert.empty()) ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
    if (!key.empty())
      ctx.use_private_key(boost::asio::buffer(key.data(), key.size()),
                          boost::asio::ssl::context::pem);
  });
  return cfg;
}

Response parse_response(int status, const std::string& text) {
  Response r;
  r.status = status;
  if (!text.empty()) r.body = nlohmann::json::parse(text, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  return r;
}

}  // namespace

struct RestClient::Impl {
  std::unique_ptr<client::http_client> requests;
  std::unique_ptr<client::http_client> watches;  // its own timeout: streams last minutes
  std::shared_ptr<TokenSource> tokens;
  std::shared_ptr<Poster> poster = std::make_shared<Poster>();
  std::string user_agent;

  http::http_request make(const std::string& method, const std::string& path) {
    http::http_request req(method);
    req.set_request_uri(web::uri(path));
    req.headers().add("Accept", "application/json");
    req.headers().add("User-Agent", user_agent);
    auto token = tokens->token();
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    return req;
  }
};

RestClient::RestClient(boost::asio::io_context& io, Config config, RestOptions options)
    : io_(io),
      config_(std::move(config)),
      options_(std::move(options)),
      impl_(std::make_unique<Impl>()) {
  try {
    impl_->requests = std::make_unique<client::http_client>(
        web::uri(config_.server), make_config(config_, options_.request_timeout));
    impl_->watches = std::make_unique<client::http_client>(
        web::uri(config_.server), make_config(config_, options_.watch_timeout));
  } catch (const std::exception& e) {
    throw ConfigError("server \"" + config_.server + "\": " + e.what());
  }
  impl_->tokens = std::make_shared<TokenSource>(config_);
  impl_->poster->io = &io_;
  impl_->user_agent = options_.user_agent;
}

RestClient::~RestClient() {
  lifetime_.end();
  impl_->poster->close();
}

void RestClient::request(const std::string& method, const std::string& path,
                         const std::optional<nlohmann::json>& body, ResponseHandler done,
                         const std::string& content_type) {
  ++counters_.requests;
  auto poster = impl_->poster;
  auto alive = lifetime_.watch();
  auto finish = [this, poster, alive, done = std::move(done)](Response r) {
    poster->post([this, alive, done, r = std::move(r)]() mutable {
      if (alive.expired()) return;
      if (r.status == 0 || r.status >= 500) ++counters_.errors;
      done(std::move(r));
    });
  };
  http::http_request req;
  try {
    req = impl_->make(method, path);
    if (body) req.set_body(body->dump(), content_type);
  } catch (const std::exception& e) {
    Response r;
    r.error = std::string("bad request: ") + e.what();
    finish(std::move(r));
    return;
  }
  impl_->requests->request(req).then([finish](const pplx::task<http::http_response>& t) {
    http::http_response resp;
    try {
      resp = t.get();
    } catch (const std::exception& e) {
      Response r;
      r.error = e.what();
      finish(std::move(r));
      return;
    }
    int status = resp.status_code();
    std::string retry_after;
    if (auto it = resp.headers().find("Retry-After"); it != resp.headers().end())
      retry_after = it->second;
    resp.extract_utf8string(true).then(
        [finish, status, retry_after](const pplx::task<std::string>& bt) {
          try {
            auto r = parse_response(status, bt.get());
            r.retry_after = retry_after;
            finish(std::move(r));
          } catch (const std::exception& e) {
            Response r;
            r.error = std::string("reading body: ") + e.what();
            finish(std::move(r));
          }
        });
  });
}

struct Watch::State {
  std::shared_ptr<Poster> poster;
  pplx::cancellation_token_source cts;
  bool stopped = false;  // io thread only
  bool ended = false;    // io thread only
  std::function<void(nlohmann::json)> on_event;
  std::function<void(Response)> on_end;
  // Read side: touched only by the sequential chain of read continuations.
  http::http_response response;
  std::string partial;
  std::vector<uint8_t> buf = std::vector<uint8_t>(size_t{64} * 1024);

  void deliver_event(nlohmann::json ev, const std::shared_ptr<State>& self) {
    poster->post([self, ev = std::move(ev)]() mutable {
      if (self->stopped || self->ended) return;
      self->on_event(std::move(ev));
    });
  }
  void deliver_end(Response r, const std::shared_ptr<State>& self) {
    poster->post([self, r = std::move(r)]() mutable {
      if (self->stopped || self->ended) return;
      self->ended = true;
      self->on_end(std::move(r));
    });
  }
};

namespace {

// One line of the stream is one event; a line that is not JSON ends the watch, since the
// stream can no longer be trusted to be in step.
bool take_lines(const std::shared_ptr<Watch::State>& s) {
  size_t start = 0;
  while (true) {
    auto nl = s->partial.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(s->partial.data() + start, nl - start);
    start = nl + 1;
    if (line.empty() || line == "\r") continue;
    auto ev = nlohmann::json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.is_object()) {
      Response r;
      r.status = 200;
      r.error = "malformed watch event";
      s->deliver_end(std::move(r), s);
      return false;
    }
    s->deliver_event(std::move(ev), s);
  }
  s->partial.erase(0, start);
  return true;
}

void read_more(const std::shared_ptr<Watch::State>& s) {
  auto sb = s->response.body().streambuf();
  // Ask for what is buffered (at least one byte): a producer/consumer buffer completes a read
  // only when the whole count is there, and watch events arrive a line at a time.
  size_t want = std::clamp<size_t>(sb.in_avail(), 1, s->buf.size());
  sb.getn(s->buf.data(), want).then([s](const pplx::task<size_t>& t) {
    size_t got = 0;
    try {
      got = t.get();
    } catch (const std::exception& e) {
      Response r;
      r.error = e.what();
      s->deliver_end(std::move(r), s);
      return;
    }
    if (got == 0) {
      s->partial.push_back('\n');
      if (take_lines(s)) {
        Response r;
        r.status = 200;
        s->deliver_end(std::move(r), s);
      }
      return;
    }
    s->partial.append(reinterpret_cast<const char*>(s->buf.data()), got);
    if (!take_lines(s)) return;
    if (s->cts.get_token().is_canceled()) return;
    read_more(s);
  });
}

}  // namespace

std::unique_ptr<Watch> RestClient::watch(const std::string& path,
                                         std::function<void(nlohmann::json)> on_event,
                                         std::function<void(Response)> on_end) {
  ++counters_.requests;
  auto s = std::make_shared<Watch::State>();
  s->poster = impl_->poster;
  s->on_event = std::move(on_event);
  s->on_end = std::move(on_end);
  http::http_request req;
  try {
    req = impl_->make("GET", path);
  } catch (const std::exception& e) {
    Response r;
    r.error = std::string("bad request: ") + e.what();
    s->deliver_end(std::move(r), s);
    return std::make_unique<Watch>(s);
  }
  impl_->watches->request(req, s->cts.get_token())
      .then([s](const pplx::task<http::http_response>& t) {
        try {
          s->response = t.get();
        } catch (const std::exception& e) {
          Response r;
          r.error = e.what();
          s->deliver_end(std::move(r), s);
          return;
        }
        int status = s->response.status_code();
        if (status != 200) {
          // An error before the stream starts (410 from an apiserver that checks the version up
          // front, 403, 5xx): the body is a Status.
          s->response.extract_utf8string(true).then([s, status](const pplx::task<std::string>& bt) {
            Response r;
            try {
              r = parse_response(status, bt.get());
            } catch (const std::exception& e) {
              r.status = status;
              r.error = e.what();
            }
            s->deliver_end(std::move(r), s);
          });
          return;
        }
        read_more(s);
      });
  return std::make_unique<Watch>(s);
}

void Watch::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->cts.cancel();
}

}  // namespace kc::kube
