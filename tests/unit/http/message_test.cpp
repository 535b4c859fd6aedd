// Query strings, URL decoding, body parameters the way Kong's Admin API took them, and the
// client's URL parsing.
#include "common/http/message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http/client.h"

using namespace kc::http;

namespace {

Request with_body(const std::string& content_type, const std::string& body) {
  Request r;
  r.method = "POST";
  if (!content_type.empty()) r.headers["content-type"] = content_type;
  r.body = body;
  return r;
}

}  // namespace

TEST(UrlDecode, EscapesAndPlus) {
  EXPECT_EQ(url_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(url_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(url_decode("%2f%2F", false), "//");
  EXPECT_FALSE(url_decode("%", true));
  EXPECT_FALSE(url_decode("%4", true));
  EXPECT_FALSE(url_decode("%zz", true));
  EXPECT_EQ(url_decode(url_encode("x y/\t\"é"), false), "x y/\t\"é");
}

TEST(ParseQuery, FirstOccurrenceWinsAndBareKeys) {
  auto q = parse_query("status=alive&status=failed&flag&name=a%3Db");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->at("status"), "alive");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("name"), "a=b");
  EXPECT_TRUE(parse_query("")->empty());
  EXPECT_TRUE(parse_query("&&")->empty());
  EXPECT_FALSE(parse_query("a=%G0"));
}

TEST(BodyParams, Json) {
  auto p = parse_body_params(with_body("application/json; charset=utf-8",
                                       R"({"address":"1.2.3.4:7946","n":3,"b":true,"z":null})"));
  ASSERT_EQ(p.status, BodyParams::Status::Ok);
  EXPECT_EQ(p.params.at("address"), "1.2.3.4:7946");
  EXPECT_EQ(p.params.at("n"), "3");
  EXPECT_EQ(p.params.at("b"), "true");
  EXPECT_FALSE(p.params.count("z"));
  EXPECT_EQ(parse_body_params(with_body("application/json", "{bad")).status,
            BodyParams::Status::BadJson);
  EXPECT_EQ(parse_body_params(with_body("application/json", "[1]")).status,
            BodyParams::Status::BadJson);
  EXPECT_EQ(parse_body_params(with_body("application/json", "")).status,
            BodyParams::Status::BadJson);
}

TEST(BodyParams, FormAndMultipart) {
  auto f = parse_body_params(with_body("application/x-www-form-urlencoded", "name=node+1&x=%21"));
  ASSERT_EQ(f.status, BodyParams::Status::Ok);
  EXPECT_EQ(f.params.at("name"), "node 1");
  EXPECT_EQ(f.params.at("x"), "!");
  EXPECT_EQ(parse_body_params(with_body("application/x-www-form-urlencoded", "a=%")).status,
            BodyParams::Status::BadForm);

  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"address\"\r\n\r\n10.0.0.1:7946\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\nContent-Type: text/plain\r\n\r\n"
      "two\r\nlines\r\n--XyZ--\r\n";
  auto m = parse_body_params(with_body("multipart/form-data; boundary=XyZ", body));
  ASSERT_EQ(m.status, BodyParams::Status::Ok);
  EXPECT_EQ(m.params.at("address"), "10.0.0.1:7946");
  EXPECT_EQ(m.params.at("other"), "two\r\nlines");
  EXPECT_EQ(
      parse_body_params(with_body("multipart/form-data; boundary=XyZ", "--XyZ\r\njunk")).status,
      BodyParams::Status::BadForm);
  EXPECT_EQ(parse_body_params(with_body("multipart/form-data", body)).status,
            BodyParams::Status::BadForm);
}

TEST(BodyParams, NoBodyAndUnsupported) {
  EXPECT_EQ(parse_body_params(with_body("", "")).status, BodyParams::Status::NoBody);
  EXPECT_EQ(parse_body_params(with_body("", "x=1")).status, BodyParams::Status::Unsupported);
  EXPECT_EQ(parse_body_params(with_body("text/plain", "x=1")).status,
            BodyParams::Status::Unsupported);
}

TEST(Responses, KongShapes) {
  auto m = message_response(400, "Missing node \"name\"");
  EXPECT_EQ(m.status, 400u);
  EXPECT_EQ(m.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(m.body, "{\"message\":\"Missing node \\\"name\\\"\"}\n");
  auto e = empty_response(200);
  EXPECT_TRUE(e.body.empty());
  EXPECT_EQ(e.content_type, "application/json; charset=utf-8");
}

TEST(Responses, InvalidUtf8IsReplacedNotThrown) {
  // Handlers echo input back ("... is not a valid address"); it may be any bytes.
  auto m = message_response(400, "bad \xff\xfe input");
  EXPECT_EQ(m.body, "{\"message\":\"bad \xef\xbf\xbd\xef\xbf\xbd input\"}\n");
}

TEST(Url, Parse) {
  auto u = Url::parse("http://127.0.0.1:8001");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8001);
  EXPECT_EQ(u->base_path, "");
  u = Url::parse("http://kong.local/admin/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->base_path, "/admin");
  EXPECT_EQ(u->host_header(), "kong.local");
  u = Url::parse("http://[::1]:8001/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header(), "[::1]:8001");
  std::string err;
  EXPECT_FALSE(Url::parse("https://x:8444", &err));
  EXPECT_NE(err.find("https"), std::string::npos);
  EXPECT_FALSE(Url::parse("127.0.0.1:8001", &err));
  EXPECT_FALSE(Url::parse("http://:80", &err));
  EXPECT_FALSE(Url::parse("http://h:0", &err));
  EXPECT_FALSE(Url::parse("http://h:99999", &err));
  EXPECT_FALSE(Url::parse("http://h;rm -rf:80", &err));
}
