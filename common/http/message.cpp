#include "common/http/message.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace kc::http {

namespace {

const std::string kEmpty;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` among the `; name=value` attributes of a header ("" when absent).
std::string header_attribute(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    auto eq = header.find('=', pos);
    if (eq == std::string_view::npos) break;
    if (lower(header.substr(pos, eq - pos)) != name) continue;
    auto end = header.find(';', eq);
    auto value = header.substr(eq + 1, end == std::string_view::npos ? end : end - eq - 1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return "";
}

std::optional<Params> parse_json_object(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Params out;
  for (auto& [k, v] : j.items()) {
    if (v.is_string())
      out[k] = v.get<std::string>();
    else if (v.is_null())
      continue;  // Kong treated a JSON null as absent
    else
      out[k] = v.dump();
  }
  return out;
}

// multipart/form-data: each part's `name` and its body; files are taken as their content.
std::optional<Params> parse_multipart(const std::string& body, const std::string& boundary) {
  if (boundary.empty()) return std::nullopt;
  const std::string delim = "--" + boundary;
  Params out;
  size_t pos = body.find(delim);
  if (pos == std::string::npos) return std::nullopt;
  while (true) {
    pos += delim.size();
    if (body.compare(pos, 2, "--") == 0) return out;  // closing delimiter
    if (body.compare(pos, 2, "\r\n") != 0) return std::nullopt;
    pos += 2;
    auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return std::nullopt;
    std::string name;
    std::string_view heads(body.data() + pos, head_end - pos);
    size_t line_start = 0;
    while (line_start <= heads.size()) {
      auto line_end = heads.find("\r\n", line_start);
      auto line =
          heads.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                      : line_end - line_start);
      if (lower(line.substr(0, 20)) == "content-disposition:")
        name = header_attribute(line, "name");
      if (line_end == std::string_view::npos) break;
      line_start = line_end + 2;
    }
    auto content_start = head_end + 4;
    auto next = body.find("\r\n" + delim, content_start);
    if (next == std::string::npos) return std::nullopt;
    if (!name.empty() && !out.contains(name))
      out[name] = body.substr(content_start, next - content_start);
    pos = next + 2;
  }
}

}  // namespace

const std::string& Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? kEmpty : it->second;
}

Response json_response(unsigned status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  // Echoed input (an address, a node name) may be invalid UTF-8: replaced, never thrown.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

Response message_response(unsigned status, std::string_view message) {
  return json_response(status, nlohmann::json{{"message", message}});
}

Response empty_response(unsigned status) {
  Response r;
  r.status = status;
  return r;
}

Response text_response(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

std::optional<std::string> url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::optional<Params> parse_query(std::string_view s) {
  Params out;
  size_t pos = 0;
  while (pos <= s.size()) {
    auto amp = s.find('&', pos);
    auto item = s.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!item.empty()) {
      auto eq = item.find('=');
      auto key = url_decode(item.substr(0, eq), true);
      auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                : url_decode(item.substr(eq + 1), true);
      if (!key || !value) return std::nullopt;
      out.emplace(std::move(*key), std::move(*value));  // first occurrence wins
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

BodyParams parse_body_params(const Request& req) {
  BodyParams out;
  const auto& ct_raw = req.header("content-type");
  auto ct = lower(ct_raw);
  if (req.body.empty()) {
    out.status = BodyParams::Status::NoBody;
    // Kong: a JSON content type with no body is still unparsable JSON.
    if (ct.rfind("application/json", 0) == 0) out.status = BodyParams::Status::BadJson;
    return out;
  }
  if (ct.rfind("application/json", 0) == 0) {
    auto p = parse_json_object(req.body);
    if (!p)
      out.status = BodyParams::Status::BadJson;
    else
      out.params = std::move(*p);
  } else if (ct.rfind("application/x-www-form-urlencoded", 0) == 0) {
    auto p = parse_query(req.body);
    if (!p)
      out.status = BodyParams::Status::BadForm;
    else
      out.params = std::move(*p);
  } else if (ct.rfind("multipart/form-data", 0) == 0) {
    auto p = parse_multipart(req.body, header_attribute(ct_raw, "boundary"));
    if (!p)
      out.status = BodyParams::Status::BadForm;
    else
      out.params = std::move(*p);
  } else {
    out.status = BodyParams::Status::Unsupported;
  }
  return out;
}

}  // namespace kc::http
