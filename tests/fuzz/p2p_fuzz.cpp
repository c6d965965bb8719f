// libFuzzer target for the private-chat link (docs/PROTOCOL.md, section 8): the first frame a
// listening peer reads comes from anyone who can reach its port, before any key is checked, so
// decode_p2p must turn any byte string into a message or an error and keep the round-trip
// property of round_trip.hpp. A decoded handshake message is then fed to the side that would
// receive it, mid-handshake with an honest other side: with overwhelming probability no input
// the fuzzer makes is a valid proof, so none may be accepted, and none may crash the handshake.
#include "peer/crypto/chat_seal.hpp"
#include "shared/proto/codec.hpp"
#include "tests/fuzz/round_trip.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace proto = parley::proto;
namespace crypto = parley::peer::crypto;

namespace {

constexpr crypto::chat_introduction introduction{"yoda", "luke",
                                                 "0123456789abcdef0123456789abcdef"};

struct honest_pair {
  crypto::chat_keypair requester_keys = crypto::chat_keypair::generate();
  crypto::chat_keypair target_keys = crypto::chat_keypair::generate();
};

const honest_pair& keys() {
  static const honest_pair pair;
  return pair;
}

void must_fail(bool accepted) {
  if (accepted) std::abort();
}

void drive_handshake(const proto::p2p_message& message) {
  const auto& k = keys();
  auto requester = crypto::requester_handshake::start(k.requester_keys, k.target_keys.public_part(),
                                                      introduction);
  auto target =
      crypto::target_handshake::start(k.target_keys, k.requester_keys.public_part(), introduction);
  if (!requester || !target) std::abort();
  if (const auto* m = std::get_if<proto::p2p_open>(&message)) {
    // Any key but the one the registry relayed is refused; the relayed one gets a challenge.
    const bool answered = target->on_open({m->requester_key, m->commitment}).has_value();
    if (answered != (m->requester_key == k.requester_keys.public_part())) std::abort();
    return;
  }
  if (const auto* m = std::get_if<proto::p2p_challenge>(&message)) {
    return must_fail(requester->on_challenge({m->target_nonce, m->target_proof}).has_value());
  }
  // The later messages, each after the honest ones before it.
  const auto challenge = target->on_open(requester->opening());
  if (!challenge) std::abort();
  if (const auto* m = std::get_if<proto::p2p_proof_message>(&message)) {
    return must_fail(
        target->on_proof({m->requester_nonce, m->header, m->requester_proof}).has_value());
  }
  if (const auto* m = std::get_if<proto::p2p_ready>(&message)) {
    if (!requester->on_challenge(*challenge)) std::abort();
    return must_fail(requester->on_ready({m->header, m->target_confirm}).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto decoded = proto::decode_p2p(body);
  parley::fuzz::check_round_trip(decoded, body,
                                 [](std::string_view b) { return proto::decode_p2p(b); });
  if (decoded.message) drive_handshake(*decoded.message);
  return 0;
}
