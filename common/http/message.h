// HTTP requests and responses as our handlers see them: plain structs, no Beast types, so
// handlers and their tests do not pull in Beast's headers. Helpers build Kong-style JSON
// replies and decode query strings and bodies (form, JSON, multipart) into parameters.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kc::http {

using Params = std::map<std::string, std::string>;

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // raw request target ("/cluster?status=alive")
  std::string path;    // decoded path without the query
  Params query;        // decoded query parameters (first occurrence wins)
  Params params;       // route parameters (":name" segments), set by the router
  std::string route;   // the matched route pattern ("" if none), a low-cardinality label
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote;  // peer "ip:port"

  // The header's value, "" when absent (`name` in lower case).
  const std::string& header(const std::string& name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
};

// Handlers answer through Reply, at once or later on the event loop; the first call wins.
using Reply = std::function<void(Response)>;
using Handler = std::function<void(Request&, Reply)>;

// Kong's reply shapes: a JSON document (with the newline ngx.say adds), {"message": ...},
// and a status with an empty body (Kong's bare send_HTTP_OK()).
Response json_response(unsigned status, const nlohmann::json& body);
Response message_response(unsigned status, std::string_view message);
Response empty_response(unsigned status);
Response text_response(unsigned status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");

// %XX decoding; '+' becomes a space when `plus_is_space` (forms, queries). nullopt for a
// malformed escape.
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space);
std::string url_encode(std::string_view s);
// "a=1&b=x%20y" -> {a:1, b:"x y"}; nullopt for a malformed escape. Keys without '=' get "".
std::optional<Params> parse_query(std::string_view s);

// Body parameters the way Kong's Admin API took them: application/json (an object; scalar
// values become strings), application/x-www-form-urlencoded, multipart/form-data.
struct BodyParams {
  enum class Status { Ok, NoBody, BadJson, BadForm, Unsupported } status = Status::Ok;
  Params params;
};
BodyParams parse_body_params(const Request& req);

}  // namespace kc::http
