// The cryptography of a private chat (peer/crypto/chat_seal): the four-message handshake agrees
// only with the right keys, token and names, and refuses a replayed message, a commitment that
// does not open and a tampered header; sealed frames open once, in order, and not after
// tampering, replay, reordering or the final frame; the safety number is the same on both sides
// and another per chat and per connection.
#include "peer/crypto/chat_seal.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace parley::peer::crypto;

namespace {

constexpr const char* the_token = "0123456789abcdef0123456789abcdef";

// Both sides of one chat, and its messages as they pass.
struct chat {
  chat_keypair yoda = chat_keypair::generate();  // the requester
  chat_keypair luke = chat_keypair::generate();  // the target
  std::string token = the_token;
  chat_introduction introduction() const { return {"yoda", "luke", token}; }

  std::unique_ptr<requester_handshake> requester() const {
    return requester_handshake::start(yoda, luke.public_part(), introduction());
  }
  std::unique_ptr<target_handshake> target() const {
    return target_handshake::start(luke, yoda.public_part(), introduction());
  }

  struct both {
    sealed_chat yoda;
    sealed_chat luke;
  };
  // One whole handshake, each message passed as sent.
  std::optional<both> run() const {
    auto a = requester();
    auto b = target();
    if (!a || !b) return std::nullopt;
    const auto challenge = b->on_open(a->opening());
    if (!challenge) return std::nullopt;
    const auto proof = a->on_challenge(*challenge);
    if (!proof) return std::nullopt;
    auto accepted = b->on_proof(*proof);
    if (!accepted) return std::nullopt;
    auto ready = a->on_ready(accepted->ready);
    if (!ready) return std::nullopt;
    return both{std::move(*ready), std::move(accepted->chat)};
  }
};

template <std::size_t N>
std::array<unsigned char, N> flipped(std::array<unsigned char, N> bytes, std::size_t at = 0) {
  bytes[at] ^= 1;
  return bytes;
}

bool is_safety_number(const std::string& digits) {
  if (digits.size() != safety_number_digits + 2) return false;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    const bool space = i == 4 || i == 9;
    if (space ? digits[i] != ' ' : (digits[i] < '0' || digits[i] > '9')) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("chat_seal: a handshake opens the chat both ways, with the same digits on both sides") {
  chat c;
  auto opened = c.run();
  REQUIRE(opened);
  const auto to_luke = opened->yoda.sealer->seal("Do or do not.");
  auto at_luke = opened->luke.opener->open(to_luke);
  REQUIRE(at_luke);
  CHECK(at_luke->plain == "Do or do not.");
  const auto to_yoda = opened->luke.sealer->seal("There is no try.");
  auto at_yoda = opened->yoda.opener->open(to_yoda);
  REQUIRE(at_yoda);
  CHECK(at_yoda->plain == "There is no try.");
  CHECK(opened->yoda.safety_number == opened->luke.safety_number);
  CHECK(is_safety_number(opened->yoda.safety_number));
}

TEST_CASE("chat_seal: a handshake with anything else fails at the first proof that covers it") {
  chat c;
  SUBCASE("another token on the requester's side") {
    c.token = "fedcba9876543210fedcba9876543210";
    auto a = c.requester();
    chat honest{c.yoda, c.luke};
    auto b = honest.target();
    const auto challenge = b->on_open(a->opening());
    REQUIRE(challenge);
    CHECK_FALSE(a->on_challenge(*challenge));
  }
  SUBCASE("the target believes it talks to carol, not yoda") {
    auto a = c.requester();
    auto b = target_handshake::start(c.luke, c.yoda.public_part(), {"carol", "luke", c.token});
    const auto challenge = b->on_open(a->opening());
    REQUIRE(challenge);
    CHECK_FALSE(a->on_challenge(*challenge));
  }
  SUBCASE("a requester key the registry did not relay") {
    const auto mallory = chat_keypair::generate();
    auto m = requester_handshake::start(mallory, c.luke.public_part(), c.introduction());
    auto b = c.target();
    CHECK_FALSE(b->on_open(m->opening()));
  }
  SUBCASE("a target without the relayed key's secret") {
    const auto mallory = chat_keypair::generate();
    auto a = c.requester();
    // Mallory knows the token and yoda's key, but answers with its own secret.
    auto m = target_handshake::start(mallory, c.yoda.public_part(), c.introduction());
    const auto challenge = m->on_open(a->opening());
    REQUIRE(challenge);
    CHECK_FALSE(a->on_challenge(*challenge));
  }
  SUBCASE("a tampered proof or header") {
    auto a = c.requester();
    auto b = c.target();
    auto challenge = b->on_open(a->opening());
    REQUIRE(challenge);
    auto proof = a->on_challenge(*challenge);
    REQUIRE(proof);
    auto tampered = *proof;
    tampered.header = flipped(tampered.header, 7);
    CHECK_FALSE(b->on_proof(tampered));
  }
  SUBCASE("a tampered ready") {
    auto a = c.requester();
    auto b = c.target();
    auto proof = a->on_challenge(*b->on_open(a->opening()));
    REQUIRE(proof);
    auto accepted = b->on_proof(*proof);
    REQUIRE(accepted);
    auto tampered = accepted->ready;
    tampered.header = flipped(tampered.header, 3);
    CHECK_FALSE(a->on_ready(tampered));
  }
}

TEST_CASE("chat_seal: a replayed message 2 or 3 is refused by the next attempt") {
  chat c;
  // A first attempt, recorded.
  auto a1 = c.requester();
  auto b1 = c.target();
  const auto open1 = a1->opening();
  const auto challenge1 = b1->on_open(open1);
  REQUIRE(challenge1);
  const auto proof1 = a1->on_challenge(*challenge1);
  REQUIRE(proof1);

  SUBCASE("message 3 replayed to a new attempt of the target (a new nonce)") {
    auto b2 = c.target();
    REQUIRE(b2->on_open(open1));
    CHECK_FALSE(b2->on_proof(*proof1));
  }
  SUBCASE("message 2 replayed to a new attempt of the requester (a new commitment)") {
    auto a2 = c.requester();
    CHECK_FALSE(a2->on_challenge(*challenge1));
  }
  SUBCASE("a commitment that does not open") {
    auto b2 = c.target();
    auto a2 = c.requester();
    const auto challenge2 = b2->on_open(a2->opening());
    REQUIRE(challenge2);
    auto proof2 = a2->on_challenge(*challenge2);
    REQUIRE(proof2);
    auto other_nonce = *proof2;
    other_nonce.requester_nonce = flipped(other_nonce.requester_nonce);
    CHECK_FALSE(b2->on_proof(other_nonce));
  }
  SUBCASE("each step once, in order") {
    CHECK_FALSE(b1->on_open(open1));
    CHECK_FALSE(a1->on_challenge(*challenge1));
    auto accepted = b1->on_proof(*proof1);
    REQUIRE(accepted);
    CHECK_FALSE(b1->on_proof(*proof1));
    REQUIRE(a1->on_ready(accepted->ready));
    CHECK_FALSE(a1->on_ready(accepted->ready));
  }
}

TEST_CASE("chat_seal: unusable keys and tokens are refused") {
  chat c;
  public_key low_order{};  // all zeros: crypto_kx refuses it
  CHECK_FALSE(requester_handshake::start(c.yoda, low_order, c.introduction()));
  CHECK_FALSE(target_handshake::start(c.luke, low_order, c.introduction()));
  for (const char* token :
       {"", "0123", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef00"}) {
    CAPTURE(token);
    CHECK_FALSE(requester_handshake::start(c.yoda, c.luke.public_part(), {"yoda", "luke", token}));
    CHECK_FALSE(target_handshake::start(c.luke, c.yoda.public_part(), {"yoda", "luke", token}));
  }
}

TEST_CASE("chat_seal: frames open once, in order, and the stream's end is known") {
  chat c;
  auto opened = c.run();
  REQUIRE(opened);
  chat_sealer& sealer = *opened->yoda.sealer;
  const auto first = sealer.seal("Do or do not.");
  const auto second = sealer.seal("There is no try.");
  const auto last = sealer.seal("", true);
  CHECK(first.find("Do or do not") == std::string::npos);
  CHECK(first.size() == std::string_view("Do or do not.").size() + seal_overhead_bytes);

  SUBCASE("in order") {
    chat_opener& opener = *opened->luke.opener;
    REQUIRE(opener.ready());
    auto one = opener.open(first);
    REQUIRE(one);
    CHECK(one->plain == "Do or do not.");
    CHECK_FALSE(one->final);
    auto two = opener.open(second);
    REQUIRE(two);
    CHECK(two->plain == "There is no try.");
    auto end = opener.open(last);
    REQUIRE(end);
    CHECK(end->final);
    CHECK(opener.ended());
    // Nothing after the end, not even a replay.
    CHECK_FALSE(opener.open(second));
  }
  SUBCASE("replayed") {
    chat_opener& opener = *opened->luke.opener;
    REQUIRE(opener.open(first));
    CHECK_FALSE(opener.open(first));
    CHECK(opener.failed());
    // Once failed, it stays so.
    CHECK_FALSE(opener.open(second));
  }
  SUBCASE("reordered") {
    chat_opener& opener = *opened->luke.opener;
    CHECK_FALSE(opener.open(second));
  }
  SUBCASE("tampered") {
    chat_opener& opener = *opened->luke.opener;
    auto changed = first;
    changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);
    CHECK_FALSE(opener.open(changed));
  }
  SUBCASE("with the other direction's key, or a bad header") {
    // luke's own opener is for yoda's frames; the other direction's frames do not open in it.
    const auto lukes = opened->luke.sealer->seal("from luke");
    CHECK_FALSE(opened->luke.opener->open(lukes));
  }
  SUBCASE("too short to be sealed") {
    chat_opener& opener = *opened->luke.opener;
    CHECK_FALSE(opener.open("short"));
  }
}

TEST_CASE("chat_seal: the digits differ per chat and per connection, and only the nonces may") {
  chat c;
  auto first = c.run();
  auto second = c.run();  // the same keys, another connection: other nonces
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->yoda.safety_number != second->yoda.safety_number);
  std::set<std::string> numbers{first->yoda.safety_number, second->yoda.safety_number};
  for (int i = 0; i < 20; ++i) {
    chat other;
    auto opened = other.run();
    REQUIRE(opened);
    CHECK(opened->yoda.safety_number == opened->luke.safety_number);
    numbers.insert(opened->yoda.safety_number);
  }
  CHECK(numbers.size() == 22);
  // The digits are a function of the keys and nonces in role order, nothing else.
  nonce na{}, nb{};
  na[0] = 1;
  CHECK(safety_number(c.yoda.public_part(), c.luke.public_part(), na, nb) ==
        safety_number(c.yoda.public_part(), c.luke.public_part(), na, nb));
  CHECK(safety_number(c.yoda.public_part(), c.luke.public_part(), na, nb) !=
        safety_number(c.yoda.public_part(), c.luke.public_part(), nb, na));
  CHECK(is_safety_number(safety_number(c.yoda.public_part(), c.luke.public_part(), na, nb)));
}
