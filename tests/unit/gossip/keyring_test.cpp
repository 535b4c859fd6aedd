// Keyring semantics as memberlist 0.2.2 keyring.go (and its keyring_test.go), base64 as Go's
// StdEncoding, and Serf's keyring file format.
#include "agent/gossip/crypto/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/vectors.h"

namespace kc::gossip {
namespace {

using test::Bytes;

Bytes key_of(size_t size, uint8_t fill) {
  return Bytes(size, fill);
}

const Bytes k1 = key_of(16, 1);
const Bytes k2 = key_of(24, 2);
const Bytes k3 = key_of(32, 3);

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

TEST(Keyring, EmptyRing) {
  Keyring ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_TRUE(ring.primary().empty());
  EXPECT_EQ(ring.remove_key(k1), std::nullopt);  // Go would panic; we treat it as absent
  EXPECT_EQ(ring.use_key(k1), "Requested key is not in the keyring");
}

TEST(Keyring, ValidateKey) {
  for (size_t n : {16, 24, 32}) EXPECT_EQ(Keyring::validate_key(key_of(n, 0)), std::nullopt);
  for (size_t n : {0, 1, 15, 17, 31, 33, 64})
    EXPECT_EQ(Keyring::validate_key(key_of(n, 0)), "key size must be 16, 24 or 32 bytes") << n;
}

TEST(Keyring, AddKey) {
  Keyring ring;
  EXPECT_EQ(ring.add_key(k1), std::nullopt);
  EXPECT_TRUE(std::ranges::equal(ring.primary(), k1));  // first key becomes primary
  EXPECT_EQ(ring.add_key(k2), std::nullopt);
  EXPECT_EQ(ring.add_key(k1), std::nullopt);  // duplicate: no-op
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k1, k2}));
  EXPECT_EQ(ring.add_key(key_of(20, 9)), "key size must be 16, 24 or 32 bytes");
  EXPECT_EQ(ring.size(), 2u);
}

TEST(Keyring, UseKeyMovesToFrontKeepingOrder) {
  Keyring ring;
  ASSERT_EQ(Keyring::create(std::vector<EncryptionKey>{k2, k3}, k1, ring), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k1, k2, k3}));
  EXPECT_EQ(ring.use_key(k3), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k3, k1, k2}));
  EXPECT_EQ(ring.use_key(k3), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k3, k1, k2}));
  EXPECT_EQ(ring.use_key(key_of(16, 7)), "Requested key is not in the keyring");
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k3, k1, k2}));
}

TEST(Keyring, RemoveKey) {
  Keyring ring;
  ASSERT_EQ(Keyring::create(std::vector<EncryptionKey>{k1, k2, k3}, k1, ring), std::nullopt);
  EXPECT_EQ(ring.remove_key(k1), "Removing the primary key is not allowed");
  EXPECT_EQ(ring.remove_key(k2), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k1, k3}));
  EXPECT_EQ(ring.remove_key(k2), std::nullopt);  // absent: silent no-op
  EXPECT_EQ(ring.remove_key(key_of(3, 3)), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k1, k3}));
  EXPECT_TRUE(ring.contains(k3));
  EXPECT_FALSE(ring.contains(k2));
}

TEST(Keyring, Create) {
  Keyring ring;
  EXPECT_EQ(Keyring::create({}, {}, ring), std::nullopt);
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(Keyring::create(std::vector<EncryptionKey>{k1}, {}, ring),
            "Empty primary key not allowed");
  EXPECT_EQ(Keyring::create({}, k2, ring), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k2}));
  // Primary goes first even when listed later, duplicates collapse.
  EXPECT_EQ(Keyring::create(std::vector<EncryptionKey>{k1, k2, k3, k2}, k3, ring), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k3, k1, k2}));
  Keyring untouched;
  ASSERT_EQ(untouched.add_key(k1), std::nullopt);
  EXPECT_EQ(Keyring::create(std::vector<EncryptionKey>{key_of(5, 0)}, k2, untouched),
            "key size must be 16, 24 or 32 bytes");
  EXPECT_EQ(untouched.keys(), (std::vector<EncryptionKey>{k1}));
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : cases) {
    EXPECT_EQ(base64_encode(bytes_of(plain)), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<Bytes>(bytes_of(plain))) << encoded;
  }
  const Bytes all = [] {
    Bytes b(256);
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
    return b;
  }();
  EXPECT_EQ(base64_decode(base64_encode(all)), std::optional<Bytes>(all));
  EXPECT_NE(base64_encode(Bytes{0xfb, 0xff}).find_first_of("+/"), std::string::npos);
}

TEST(Base64, SerfKey) {
  const std::string text = "fFh6U3ZkFwteeYHggcPQoBMFsBKsZB7JfSTf347bt9s=";
  auto key = base64_decode(text);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(base64_encode(*key), text);
}

TEST(Base64, GoStdEncodingLeniencyAndErrors) {
  EXPECT_EQ(base64_decode("Zm9v\r\nYmFy\n"), std::optional<Bytes>(bytes_of("foobar")));
  EXPECT_EQ(base64_decode("Zm9="), std::optional<Bytes>(bytes_of("fo")));  // non-zero tail bits
  for (const char* bad : {"Zm9", "Zm9vY", "Z===", "====", "Zg==Zg==", "Zm=v",
                          "Zm9v!A==", "Zm9v Zm9v", "Zm9vYmFy=", "-_-_"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(KeyringFile, JsonMatchesSerf) {
  Keyring ring;
  EXPECT_EQ(keyring_to_json(ring), "[]");
  ASSERT_EQ(Keyring::create(std::vector<EncryptionKey>{k2}, k1, ring), std::nullopt);
  EXPECT_EQ(keyring_to_json(ring),
            "[\n  \"AQEBAQEBAQEBAQEBAQEBAQ==\",\n  \"AgICAgICAgICAgICAgICAgICAgICAgIC\"\n]");
  Keyring back;
  ASSERT_EQ(keyring_from_json(keyring_to_json(ring), back), std::nullopt);
  EXPECT_EQ(back.keys(), ring.keys());
}

TEST(KeyringFile, ParsesLikeSerf) {
  Keyring ring;
  ASSERT_EQ(keyring_from_json(
                R"( ["AgICAgICAgICAgICAgICAgICAgICAgIC", "AQEBAQEBAQEBAQEBAQEBAQ==",
                     "AgICAgICAgICAgICAgICAgICAgICAgIC"] )",
                ring),
            std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k2, k1}));
  // JSON escapes are decoded before base64 ("\/" is "/").
  ASSERT_EQ(keyring_from_json(R"(["\u0041QEBAQEBAQEBAQEBAQEBAQ=="])", ring), std::nullopt);
  EXPECT_EQ(ring.keys(), (std::vector<EncryptionKey>{k1}));

  Keyring untouched;
  EXPECT_EQ(keyring_from_json("[]", untouched), "Keyring file contains no keys");
  EXPECT_EQ(keyring_from_json("null", untouched), "Keyring file contains no keys");
  for (const char* bad : {"", "{", "{}", "[1]", "\"x\"", "[\"a\",]", "[true]"})
    EXPECT_EQ(
        keyring_from_json(bad, untouched).value_or("").rfind("Failed to decode keyring file", 0),
        0u)
        << bad;
  EXPECT_EQ(keyring_from_json(R"(["!!!!"])", untouched)
                .value_or("")
                .rfind("Failed to decode key from keyring", 0),
            0u);
  // Go unmarshals null as "" and then refuses the empty primary.
  EXPECT_EQ(keyring_from_json("[null]", untouched),
            "Failed to restore keyring: Empty primary key not allowed");
  EXPECT_EQ(keyring_from_json(R"(["AAAA"])", untouched),
            "Failed to restore keyring: key size must be 16, 24 or 32 bytes");
  EXPECT_TRUE(untouched.empty());
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/kc_keyring_test.XXXXXX";
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(KeyringFile, SaveAndLoad) {
  TempDir dir;
  const std::string path = dir.path() + "/keyring";
  Keyring ring;
  ASSERT_EQ(Keyring::create(std::vector<EncryptionKey>{k2, k3}, k1, ring), std::nullopt);
  ASSERT_EQ(save_keyring_file(path, ring), std::nullopt);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), keyring_to_json(ring));
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);

  Keyring loaded;
  ASSERT_EQ(load_keyring_file(path, loaded), std::nullopt);
  EXPECT_EQ(loaded.keys(), ring.keys());

  // Overwrite after a key change.
  ASSERT_EQ(ring.use_key(k3), std::nullopt);
  ASSERT_EQ(save_keyring_file(path, ring), std::nullopt);
  ASSERT_EQ(load_keyring_file(path, loaded), std::nullopt);
  EXPECT_TRUE(std::ranges::equal(loaded.primary(), k3));
}

TEST(KeyringFile, Errors) {
  TempDir dir;
  Keyring ring;
  auto err = load_keyring_file(dir.path() + "/missing", ring);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("Failed to read keyring file", 0), 0u);
  err = save_keyring_file(dir.path() + "/no/such/dir/keyring", ring);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->rfind("Failed to write keyring file", 0), 0u);
}

}  // namespace
}  // namespace kc::gossip
