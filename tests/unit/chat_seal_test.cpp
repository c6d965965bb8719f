// The cryptography of a private chat (peer/crypto/chat_seal): both sides agree on keys and
// proofs only with the right keys, token and names; sealed frames open once, in order, and not
// after tampering, replay, reordering or the final frame; the safety number is the same on both
// sides and another per chat.
#include "peer/crypto/chat_seal.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace parley::peer::crypto;

namespace {

struct chat {
  chat_keypair yoda = chat_keypair::generate();  // the requester
  chat_keypair luke = chat_keypair::generate();  // the target
  std::string token = "0123456789abcdef0123456789abcdef";
  chat_context context() const {
    return {"yoda", "luke", token, yoda.public_part(), luke.public_part()};
  }
};

bool same(const secret_key& a, const secret_key& b) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size()) ==
         std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

TEST_CASE("chat_seal: both sides derive matching keys and proofs") {
  chat c;
  const auto yoda = derive_chat_keys(chat_role::requester, c.yoda, c.context());
  const auto luke = derive_chat_keys(chat_role::target, c.luke, c.context());
  REQUIRE(yoda);
  REQUIRE(luke);
  CHECK(same(yoda->send, luke->receive));
  CHECK(same(yoda->receive, luke->send));
  CHECK_FALSE(same(yoda->send, yoda->receive));
  CHECK(proof_matches(luke->expected_proof, yoda->own_proof.data(), yoda->own_proof.size()));
  CHECK(proof_matches(yoda->expected_proof, luke->own_proof.data(), luke->own_proof.size()));
  // A proof is not a key: neither equals a stream key.
  CHECK_FALSE(same(yoda->own_proof, yoda->send));
  CHECK_FALSE(same(yoda->own_proof, luke->own_proof));
}

TEST_CASE("chat_seal: a proof made with anything else does not match") {
  chat c;
  const auto luke = derive_chat_keys(chat_role::target, c.luke, c.context());
  REQUIRE(luke);
  const auto refused = [&](const std::optional<chat_keys>& other) {
    REQUIRE(other);
    return !proof_matches(luke->expected_proof, other->own_proof.data(), other->own_proof.size());
  };
  SUBCASE("another token") {
    auto context = c.context();
    const std::string other_token = "ffffffffffffffffffffffffffffffff";
    context.token = other_token;
    CHECK(refused(derive_chat_keys(chat_role::requester, c.yoda, context)));
  }
  SUBCASE("the same token under another requester's name") {
    auto context = c.context();
    context.requester = "vader";
    CHECK(refused(derive_chat_keys(chat_role::requester, c.yoda, context)));
  }
  SUBCASE("names swapped") {
    auto context = c.context();
    context.requester = "luke";
    context.target = "yoda";
    CHECK(refused(derive_chat_keys(chat_role::requester, c.yoda, context)));
  }
  SUBCASE("another key pair than the one the registry relayed (a man in the middle)") {
    const auto mallory = chat_keypair::generate();
    auto context = c.context();
    context.requester_key = mallory.public_part();
    // Mallory knows the token and both names, and presents her own key: luke expects yoda's.
    CHECK(refused(derive_chat_keys(chat_role::requester, mallory, context)));
  }
  SUBCASE("the proof of an earlier chat between the same users (a replay)") {
    chat earlier;
    earlier.token = c.token;
    CHECK(refused(derive_chat_keys(chat_role::requester, earlier.yoda, earlier.context())));
  }
}

TEST_CASE("chat_seal: unusable keys are refused") {
  chat c;
  auto context = c.context();
  SUBCASE("the own pair is not the context's") {
    CHECK_FALSE(derive_chat_keys(chat_role::target, c.yoda, context));
  }
  SUBCASE("a low-order point as the other's key") {
    context.target_key.fill(0);
    CHECK_FALSE(derive_chat_keys(chat_role::requester, c.yoda, context));
  }
}

TEST_CASE("chat_seal: frames open once, in order, and the stream's end is known") {
  chat c;
  const auto yoda = derive_chat_keys(chat_role::requester, c.yoda, c.context());
  const auto luke = derive_chat_keys(chat_role::target, c.luke, c.context());
  REQUIRE(yoda);
  REQUIRE(luke);
  chat_sealer sealer(yoda->send);
  const auto first = sealer.seal("Do or do not.");
  const auto second = sealer.seal("There is no try.");
  const auto last = sealer.seal("", true);
  CHECK(first.find("Do or do not") == std::string::npos);
  CHECK(first.size() == std::string_view("Do or do not.").size() + seal_overhead_bytes);

  SUBCASE("in order") {
    chat_opener opener(luke->receive, sealer.header().data(), sealer.header().size());
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
    chat_opener opener(luke->receive, sealer.header().data(), sealer.header().size());
    REQUIRE(opener.open(first));
    CHECK_FALSE(opener.open(first));
    CHECK(opener.failed());
    // Once failed, it stays so.
    CHECK_FALSE(opener.open(second));
  }
  SUBCASE("reordered") {
    chat_opener opener(luke->receive, sealer.header().data(), sealer.header().size());
    CHECK_FALSE(opener.open(second));
  }
  SUBCASE("tampered") {
    chat_opener opener(luke->receive, sealer.header().data(), sealer.header().size());
    auto changed = first;
    changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);
    CHECK_FALSE(opener.open(changed));
  }
  SUBCASE("with the other direction's key, or a bad header") {
    chat_opener wrong_key(luke->send, sealer.header().data(), sealer.header().size());
    CHECK_FALSE(wrong_key.open(first));
    chat_opener short_header(luke->receive, sealer.header().data(), 10);
    CHECK_FALSE(short_header.ready());
    CHECK_FALSE(short_header.open(first));
  }
  SUBCASE("too short to be sealed") {
    chat_opener opener(luke->receive, sealer.header().data(), sealer.header().size());
    CHECK_FALSE(opener.open("short"));
  }
}

TEST_CASE("chat_seal: the safety number is the same on both sides and another per chat") {
  chat c;
  const auto seen_by_yoda = safety_number(c.yoda.public_part(), c.luke.public_part());
  const auto seen_by_luke = safety_number(c.luke.public_part(), c.yoda.public_part());
  CHECK(seen_by_yoda == seen_by_luke);
  // Six groups of five digits.
  REQUIRE(seen_by_yoda.size() == safety_number_groups * 6 - 1);
  for (std::size_t i = 0; i < seen_by_yoda.size(); ++i) {
    if (i % 6 == 5)
      CHECK(seen_by_yoda[i] == ' ');
    else
      CHECK((seen_by_yoda[i] >= '0' && seen_by_yoda[i] <= '9'));
  }
  std::set<std::string> numbers{seen_by_yoda};
  for (int i = 0; i < 20; ++i) {
    chat other;
    numbers.insert(safety_number(other.yoda.public_part(), other.luke.public_part()));
  }
  CHECK(numbers.size() == 21);
}
