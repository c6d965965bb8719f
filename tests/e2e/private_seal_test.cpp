// Attacks on the sealed private chat (SPEC 10; docs/design/issue-11.md, sections 2.4 to 2.6 and
// 3), each measured by what the victim shows: a captured handshake replayed, a token used under
// another name, the bound on attempts per expectation, and a man in the middle between two real
// peers, each behind a fake registry that relays their keys as the real one would. No forged
// line is ever shown.
#include "shared/proto/frame.hpp"
#include "tests/e2e/fake_registry_peer.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/proxy.hpp"
#include "tests/e2e/sealed_p2p.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

// A handshake that fails is closed at once; an open with a key nobody expects waits for its
// expectation until the 5 s deadline, so waits for that allow more.
constexpr milliseconds closed_at_once = 1500ms;
constexpr milliseconds refusal_timeout = 10000ms;

constexpr std::string_view yoda_token = "0123456789abcdef0123456789abcdef";
constexpr std::string_view second_token = "00112233445566778899aabbccddeeff";

// An open that presents `key` (public: it crosses in clear) with a commitment of nobody's.
proto::p2p_open open_presenting(const proto::chat_public_key& key) {
  return {crypto::handshake_version, key, random_commitment()};
}

}  // namespace

TEST_CASE("private seal: a captured handshake replayed opens nothing") {
  peer_behind_fake_registry luke("luke");
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", yoda_token, "127.0.0.1", yoda_keys.public_part());
  const chat_names names{"yoda", "luke", std::string(yoda_token)};

  // yoda's attempt, stopped before its proof goes out: an observer has its open.
  raw_client yoda(luke.port);
  requester_attempt attempt(yoda_keys, luke_key, names);
  const auto open_frame = clear_frame(attempt.opening());
  REQUIRE(yoda.send_bytes(open_frame));
  const auto challenge = receive_clear<proto::p2p_challenge>(yoda);
  REQUIRE(challenge.has_value());
  const auto proof = attempt.on_challenge(*challenge);
  REQUIRE(proof.has_value());
  const auto proof_frame = clear_frame(*proof);

  // The same open on another connection, for the same expectation before its use: luke draws a
  // fresh nonce, so yoda's proof, replayed there, is for another transcript.
  raw_client replay(luke.port);
  REQUIRE(replay.send_bytes(open_frame));
  const auto replay_challenge = receive_clear<proto::p2p_challenge>(replay);
  REQUIRE(replay_challenge.has_value());
  CHECK(replay_challenge->target_nonce != challenge->target_nonce);
  REQUIRE(replay.send_bytes(proof_frame));
  CHECK(closed_without_a_word(replay, closed_at_once));

  // The failed replay cost an attempt, not the expectation: yoda's own proof gets in.
  REQUIRE(yoda.send_bytes(proof_frame));
  const auto ready = receive_clear<proto::p2p_ready>(yoda);
  REQUIRE(ready.has_value());
  auto chat = attempt.on_ready(*ready);
  REQUIRE(chat.has_value());
  luke.peer->expect_line(text::private_start("yoda"));
  chat->send(yoda, proto::p2p_stop{});
  luke.peer->expect_line(text::private_stopped_by("yoda"));

  // A fresh expectation for the same key (a requester that kept its key, or a registry fooled
  // into relaying it again): the whole captured handshake, replayed, still fails.
  luke.consent("yoda");
  luke.expect("yoda", second_token, "127.0.0.1", yoda_keys.public_part());
  raw_client later(luke.port);
  REQUIRE(later.send_bytes(open_frame));
  REQUIRE(receive_clear<proto::p2p_challenge>(later).has_value());
  REQUIRE(later.send_bytes(proof_frame));
  CHECK(closed_without_a_word(later, closed_at_once));

  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 1);
}

TEST_CASE("private seal: a token used under another name opens nothing") {
  peer_behind_fake_registry luke("luke");
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", yoda_token, "127.0.0.1", yoda_keys.public_part());
  const chat_names as_hans{"hans", "luke", std::string(yoda_token)};

  // hans knows the token and runs the handshake as himself, with his own key: no expectation
  // names that key, so luke sends nothing and closes at the deadline.
  const auto hans_keys = fresh_keys();
  raw_client own_key(luke.port);
  requester_attempt hans(hans_keys, luke_key, as_hans);
  own_key.send_p2p(hans.opening());

  // hans presents yoda's key, which crossed in clear: luke answers, but the challenge is made
  // for yoda's key and name, so hans can neither check it nor prove anything.
  raw_client yoda_key(luke.port);
  requester_attempt hans_as_yoda_key(hans_keys, luke_key, as_hans);
  yoda_key.send_p2p(open_presenting(yoda_keys.public_part()));
  const auto challenge = receive_clear<proto::p2p_challenge>(yoda_key);
  REQUIRE(challenge.has_value());
  CHECK_FALSE(hans_as_yoda_key.on_challenge(*challenge).has_value());
  yoda_key.send_p2p(random_proof());
  CHECK(closed_without_a_word(yoda_key, closed_at_once));

  // Even with yoda's secret key, the token under hans's name is another transcript: the name
  // is bound in every proof.
  raw_client stolen_key(luke.port);
  requester_attempt hans_with_yoda_keys(yoda_keys, luke_key, as_hans);
  stolen_key.send_p2p(hans_with_yoda_keys.opening());
  const auto stolen_challenge = receive_clear<proto::p2p_challenge>(stolen_key);
  REQUIRE(stolen_challenge.has_value());
  CHECK_FALSE(hans_with_yoda_keys.on_challenge(*stolen_challenge).has_value());
  stolen_key.send_p2p(random_proof());
  CHECK(closed_without_a_word(stolen_key, closed_at_once));

  CHECK(closed_without_a_word(own_key, refusal_timeout));
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 0);

  // The expectation is still yoda's (two of its four attempts spent).
  raw_client yoda(luke.port);
  REQUIRE(
      handshake_as_requester(yoda, yoda_keys, luke_key, {"yoda", "luke", std::string(yoda_token)})
          .has_value());
  luke.peer->expect_line(text::private_start("yoda"));
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 1);
}

TEST_CASE("private seal: four failed proofs for a key use up its expectation") {
  peer_behind_fake_registry luke("luke");
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", yoda_token, "127.0.0.1", yoda_keys.public_part());

  // An attacker who saw yoda's key on the wire, without the secret half: each open is answered
  // and each proof refused, an attempt each.
  std::vector<std::string> challenges;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    CAPTURE(attempt);
    raw_client attacker(luke.port, "127.0.0.2");
    attacker.send_p2p(open_presenting(yoda_keys.public_part()));
    const auto challenge = receive_clear<proto::p2p_challenge>(attacker);
    REQUIRE(challenge.has_value());
    attacker.send_p2p(random_proof());
    CHECK(closed_without_a_word(attacker, closed_at_once));
  }
  // The fifth open with that key drops the expectation and gets no challenge.
  raw_client fifth(luke.port, "127.0.0.2");
  fifth.send_p2p(open_presenting(yoda_keys.public_part()));
  CHECK(closed_without_a_word(fifth, closed_at_once));

  // The real requester's key is unknown now: its open waits for an expectation until the
  // deadline, and no challenge comes.
  raw_client yoda(luke.port);
  handshake_frames frames;
  CHECK_FALSE(handshake_as_requester(yoda, yoda_keys, luke_key,
                                     {"yoda", "luke", std::string(yoda_token)}, &frames,
                                     refusal_timeout)
                  .has_value());
  CHECK(frames.challenge.empty());
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 0);
}

namespace {

// yoda and luke, real peers each behind its own fake registry. The test relays their keys and
// tokens as the registry would, except that yoda is told luke listens at a proxy's port.
struct relayed_pair {
  peer_behind_fake_registry yoda{"yoda"};
  peer_behind_fake_registry luke{"luke"};
  tcp_proxy proxy{luke.port, relay_mode::frames};
  int chats = 0;

  // `startprivate luke` by yoda, luke's y, the expectation and the grant: yoda dials the proxy
  // (its next connection). Returns the chat's token.
  std::string start_chat(call_site where = call_site::here()) {
    char token[33];
    std::snprintf(token, sizeof token, "%032x", 0xc0ffee00 + ++chats);
    const auto yoda_key = yoda.invite("luke", where);
    const auto luke_key = luke.consent("yoda", where);
    luke.expect("yoda", token, "127.0.0.1", yoda_key, where);
    yoda.grant("luke", proxy.port(), token, luke_key, where);
    return token;
  }
  // Both sides show the start.
  void expect_started(call_site where = call_site::here()) {
    yoda.peer->expect_line(text::private_accepts("luke"), default_timeout, where);
    yoda.peer->expect_line(text::private_start("luke"), default_timeout, where);
    luke.peer->expect_line(text::private_start("yoda"), default_timeout, where);
  }
  // yoda stops it; both say so.
  void stop(call_site where = call_site::here()) {
    yoda.peer->send_line("stopprivate luke", where);
    yoda.peer->expect_line(text::private_stopped("luke"), default_timeout, where);
    luke.peer->expect_line(text::private_stopped_by("yoda"), default_timeout, where);
  }
};

// The digits of `verify <other>` on `peer`, which must be the answer's only line.
std::string safety_digits(child_process& peer, std::string_view other) {
  const auto answer = answer_to(peer, "verify " + std::string(other));
  REQUIRE(answer.size() == 1);
  static const std::regex shown("Safety number with ([a-z]+): ([0-9]{4} [0-9]{4} [0-9]{4})");
  std::smatch match;
  REQUIRE(std::regex_match(answer.front(), match, shown));
  CHECK(match[1] == std::string(other));
  return match[2];
}

// A frame hook that flips the last byte of frame `index` (of a handshake message: a proof, a
// commitment or a confirmation), counting the frames it changed.
frame_hook flip_last_byte(std::size_t index, std::atomic<int>& flipped) {
  return [index, &flipped](std::size_t frame, std::string& body) {
    if (frame == index) {
      body.back() = static_cast<char>(body.back() ^ 0x01);
      ++flipped;
    }
    return frame_verdict::forward;
  };
}

}  // namespace

TEST_CASE("private seal: a relay between two peers sees no token and no text, and verify agrees") {
  relayed_pair pair;
  auto& [yoda, luke, proxy, chats] = pair;

  // Before any chat there is nothing to verify.
  CHECK(answer_to(*yoda.peer, "verify luke") ==
        std::vector<std::string>{text::private_not_enabled("luke")});

  const auto first_token = pair.start_chat();
  pair.expect_started();
  yoda.peer->send_line("private luke A secret for luke");
  luke.peer->expect_line(text::private_text("yoda", "A secret for luke"));
  luke.peer->send_line("private yoda A secret for yoda");
  yoda.peer->expect_line(text::private_text("luke", "A secret for yoda"));
  // The same digits on both sides: nobody in the middle ran a handshake of its own.
  const auto first_digits = safety_digits(*yoda.peer, "luke");
  CHECK(safety_digits(*luke.peer, "yoda") == first_digits);
  pair.stop();

  // Another chat: other keys and nonces, other digits.
  const auto second_token = pair.start_chat();
  pair.expect_started();
  const auto second_digits = safety_digits(*yoda.peer, "luke");
  CHECK(safety_digits(*luke.peer, "yoda") == second_digits);
  CHECK(second_digits != first_digits);
  yoda.peer->send_line("private luke Another secret");
  luke.peer->expect_line(text::private_text("yoda", "Another secret"));
  pair.stop();

  // Everything crossed the proxy, in clear as far as it could see: the handshakes and the
  // sealed frames, never a token or a text.
  REQUIRE(proxy.wait_closed(1));
  CHECK(proxy.connections() == 2);
  CHECK(proxy.frames_seen(0, direction::to_target) >= 3);
  for (const auto& token : {first_token, second_token}) {
    CHECK_FALSE(proxy.capture_contains(token));
    CHECK_FALSE(proxy.capture_contains(token_bytes(token)));
  }
  for (const auto* secret : {"A secret for luke", "A secret for yoda", "Another secret", "secret"})
    CHECK_FALSE(proxy.capture_contains(secret));
}

TEST_CASE("private seal: a relay that changes a byte of the handshake opens no chat") {
  relayed_pair pair;
  auto& [yoda, luke, proxy, chats] = pair;
  struct tampering {
    const char* message;
    direction way;
    std::size_t frame;
  };
  // The last field of each of the first three messages: the commitment, the target's proof,
  // the requester's proof. Connection i is chat i.
  const std::vector<tampering> cases = {{"p2p_open", direction::to_target, 0},
                                        {"p2p_challenge", direction::to_client, 0},
                                        {"p2p_proof", direction::to_target, 1}};
  std::atomic<int> flipped = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].message);
    proxy.set_frame_hook(i, cases[i].way, flip_last_byte(cases[i].frame, flipped));
    pair.start_chat();
    // The failure shows at once (a proof does not check), well within the dial's 5 s.
    const auto outcome = yoda.peer->wait_for_any(
        {text::private_dial_failed("luke"), text::private_start("luke")}, default_timeout);
    REQUIRE(outcome.has_value());
    CHECK(*outcome == 0);
    REQUIRE(proxy.wait_closed(i));
    CHECK(flipped == static_cast<int>(i + 1));
    CHECK(answer_to(*yoda.peer, "verify luke") ==
          std::vector<std::string>{text::private_not_enabled("luke")});
  }
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 0);

  // The target's confirmation, the last message: luke has let yoda in on a valid proof (its
  // start shows), yoda refuses the confirmation and hangs up, so luke's chat ends at once and
  // nothing is ever said on it.
  proxy.set_frame_hook(3, direction::to_client, flip_last_byte(1, flipped));
  pair.start_chat();
  yoda.peer->expect_line(text::private_dial_failed("luke"));
  expect_lines_in_any_order(*luke.peer, {text::private_start("yoda"), text::private_ended("yoda")});
  CHECK(flipped == 4);

  // Nothing was left half open: an untouched chat starts.
  pair.start_chat();
  pair.expect_started();
  yoda.peer->read_output();
  CHECK(count_of(*yoda.peer, text::private_start("luke")) == 1);
}

TEST_CASE(
    "private seal: a relay that replays, changes, drops or injects a sealed frame ends the chat") {
  relayed_pair pair;
  auto& [yoda, luke, proxy, chats] = pair;
  // Frames 0 and 1 each way are the handshake's; frame 2 is the first sealed one.
  constexpr std::size_t first_sealed = 2;

  // Replayed: shown once, then the copy ends the chat on both sides.
  proxy.set_frame_hook(0, direction::to_target, [](std::size_t frame, std::string&) {
    return frame == first_sealed ? frame_verdict::replay : frame_verdict::forward;
  });
  pair.start_chat();
  pair.expect_started();
  yoda.peer->send_line("private luke Only once");
  luke.peer->expect_line(text::private_text("yoda", "Only once"));
  luke.peer->expect_line(text::private_ended("yoda"));
  yoda.peer->expect_line(text::private_ended("luke"));
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, text::private_text("yoda", "Only once")) == 1);

  // Changed, from luke to yoda: never shown.
  std::atomic<int> changed = 0;
  proxy.set_frame_hook(1, direction::to_client, [&](std::size_t frame, std::string& body) {
    if (frame == first_sealed) {
      body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x01);
      ++changed;
    }
    return frame_verdict::forward;
  });
  pair.start_chat();
  pair.expect_started();
  luke.peer->send_line("private yoda Tampered with");
  yoda.peer->expect_line(text::private_ended("luke"));
  luke.peer->expect_line(text::private_ended("yoda"));
  CHECK(changed == 1);

  // Dropped: the next frame is out of order, and neither is shown.
  proxy.set_frame_hook(2, direction::to_target, [](std::size_t frame, std::string&) {
    return frame == first_sealed ? frame_verdict::drop : frame_verdict::forward;
  });
  pair.start_chat();
  pair.expect_started();
  yoda.peer->send_line("private luke Dropped");
  yoda.peer->send_line("private luke After the gap");
  luke.peer->expect_line(text::private_ended("yoda"));
  yoda.peer->expect_line(text::private_ended("luke"));

  // Injected: chat 0's first sealed frame, under another chat's keys.
  const auto earlier = proxy.captured(0, direction::to_target);
  std::size_t at = 0;
  for (std::size_t frame = 0; frame < first_sealed; ++frame)
    at += proto::frame_header_bytes +
          proto::read_frame_length(reinterpret_cast<const unsigned char*>(earlier.data() + at));
  const auto length =
      proto::read_frame_length(reinterpret_cast<const unsigned char*>(earlier.data() + at));
  const auto old_frame = earlier.substr(at, proto::frame_header_bytes + length);
  pair.start_chat();
  pair.expect_started();
  REQUIRE(proxy.inject(3, direction::to_target, old_frame));
  luke.peer->expect_line(text::private_ended("yoda"));
  yoda.peer->expect_line(text::private_ended("luke"));

  // Of all that, luke showed the one frame yoda sent once, and yoda nothing.
  luke.peer->read_output();
  yoda.peer->read_output();
  CHECK(count_of(*luke.peer, "(private)") == 1);
  CHECK(count_of(*yoda.peer, "(private)") == 0);
}

}  // namespace parley::e2e
