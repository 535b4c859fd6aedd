// libFuzzer target for the Postgres client's receive path (datastore/pg_protocol.h): arbitrary
// server bytes, delivered in arbitrary chunks, through the wire decoder and the protocol state
// machine, with the client answering as PgClient does (the next statement once one finished).
// No sockets. Nothing may crash, leak or hang, and a failure must be one non-empty line.
//
// Input layout: byte 0 picks the variant (bit 0: a password is configured; bit 1: a valid
// startup (AuthenticationOk ... ReadyForQuery) is prepended and a statement sent, so the
// fuzzer reaches the query states quickly; bits 2-5: chunk size 1..16), the rest is the
// server's byte stream.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "datastore/pg_protocol.h"

namespace {

using kc::datastore::PgProtocol;
using kc::datastore::Statement;

void frame(std::string& out, char type, const std::string& body) {
  out.push_back(type);
  auto len = static_cast<uint32_t>(body.size() + 4);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(len >> shift));
  out += body;
}

std::string startup_answer() {
  using namespace std::string_literals;
  std::string out;
  frame(out, 'R', "\0\0\0\0"s);
  frame(out, 'S', "server_version\0"s + "15.0\0"s);
  frame(out, 'K', "\0\0\0\1\0\0\0\2"s);
  frame(out, 'Z', "I");
  return out;
}

const Statement kStatement{"SELECT $1::text AS v", {std::string("x")}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t control = data[0];
  bool password = control & 1;
  bool started = control & 2;
  size_t chunk = 1 + ((control >> 2) & 15);
  std::string input;
  if (started) input = startup_answer();
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);

  PgProtocol protocol(64 * 1024);  // a small limit, so the fuzzer reaches it
  size_t notices = 0;
  protocol.on_notice = [&notices](const std::string&) { ++notices; };
  protocol.start({"kong", "kong", "fuzz", password ? "pencil" : ""});
  bool sent = false;
  for (size_t off = 0; off < input.size() && !protocol.failure(); off += chunk) {
    size_t n = std::min(chunk, input.size() - off);
    protocol.receive(std::string_view(input.data() + off, n));
    protocol.take_output();
    while (protocol.take_step()) {
    }
    if (protocol.idle() && (started || sent)) {
      protocol.send(kStatement);
      sent = true;
    }
  }
  if (auto& f = protocol.failure()) {
    if (f->message.empty() || f->message.find('\n') != std::string::npos) std::abort();
    if (protocol.idle()) std::abort();  // a failed connection must not take statements
  }
  return 0;
}
