// The private-chat listener against raw sockets (SPEC 8.4, 8.8, 10): a real peer behind a fake
// registry that issues the token and relays the requester's chat key, and connections from the
// test that run the sealed handshake (tests/e2e/sealed_p2p.hpp) with a forged token, another
// key or another name, replay it, or say nothing or something else.
#include "shared/proto/frame.hpp"
#include "tests/e2e/fake_registry_peer.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/sealed_p2p.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

// The listener's handshake deadline is 5 s; a refused connection may stay open that long (an
// open with an unknown key waits for the registry's private_expect_keyed), so waits for it allow
// more.
constexpr milliseconds refusal_timeout = 10000ms;
// A connection the listener refuses for lack of room is closed as soon as it is accepted; one it
// admits stays open until its handshake is judged, or its 5 s deadline.
constexpr milliseconds closed_at_once = 1500ms;
constexpr milliseconds held_to_deadline = 4000ms;

constexpr std::string_view issued_token = "0123456789abcdef0123456789abcdef";
constexpr std::string_view forged_token = "fedcba9876543210fedcba9876543210";
constexpr std::string_view second_token = "00112233445566778899aabbccddeeff";

// A 9-byte frame whose body decodes as nothing.
const std::string garbage_frame("\x00\x00\x00\x05\xff\xfe\xfd\xfc\xfb", 9);

}  // namespace

TEST_CASE(
    "private: forged tokens, other keys and replays are refused, the issued one accepted once") {
  peer_behind_fake_registry luke("luke");
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", issued_token, "127.0.0.1", yoda_keys.public_part());
  const chat_names issued{"yoda", "luke", std::string(issued_token)};

  // yoda's key (public: it crosses in clear) with a forged token: luke answers the open, but its
  // challenge does not check under the forged token, so no proof can be made; random bytes in
  // its place are refused. One of the expectation's 4 attempts.
  raw_client forged(luke.port);
  requester_attempt forger(yoda_keys, luke_key, {"yoda", "luke", std::string(forged_token)});
  forged.send_p2p(forger.opening());
  const auto forged_challenge = receive_clear<proto::p2p_challenge>(forged);
  REQUIRE(forged_challenge.has_value());
  CHECK_FALSE(forger.on_challenge(*forged_challenge).has_value());
  forged.send_p2p(random_proof());
  CHECK(closed_without_a_word(forged, closed_at_once));

  // A key no expectation names waits for one until the deadline, and gets no challenge.
  raw_client stranger(luke.port);
  const auto stranger_keys = fresh_keys();
  requester_attempt strange(stranger_keys, luke_key, issued);
  stranger.send_p2p(strange.opening());
  // Silence, a text in clear, a frame that does not decode, and the hello of version 2 with the
  // issued token: none is an open.
  raw_client silent(luke.port);
  raw_client not_an_open(luke.port);
  not_an_open.send_p2p(proto::p2p_text{{"let me in"}});
  raw_client garbage(luke.port);
  garbage.send_bytes(garbage_frame);
  raw_client old_hello(luke.port);
  old_hello.send_p2p(
      proto::p2p_hello{proto::protocol_version, {"yoda"}, {std::string(issued_token)}});

  // The issued token, with the key the registry relayed, from the user it was issued for.
  raw_client yoda(luke.port);
  handshake_frames yoda_frames;
  auto yoda_chat = handshake_as_requester(yoda, yoda_keys, luke_key, issued, &yoda_frames);
  REQUIRE(yoda_chat.has_value());
  luke.peer->expect_line(text::private_start("yoda"));

  // Again, with the same key and token, as a fresh attempt and as the captured bytes: the
  // expectation was used up, so the key is unknown now and gets no challenge.
  raw_client again(luke.port);
  requester_attempt second_attempt(yoda_keys, luke_key, issued);
  again.send_p2p(second_attempt.opening());
  raw_client replayed(luke.port);
  replayed.send_bytes(yoda_frames.open + yoda_frames.proof);

  CHECK(closed_without_a_word(stranger, refusal_timeout));
  CHECK(closed_without_a_word(silent, refusal_timeout));
  CHECK(closed_without_a_word(not_an_open, refusal_timeout));
  CHECK(closed_without_a_word(garbage, refusal_timeout));
  CHECK(closed_without_a_word(old_hello, refusal_timeout));
  CHECK(closed_without_a_word(again, refusal_timeout));
  CHECK(closed_without_a_word(replayed, refusal_timeout));
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 1);
  CHECK(count_of(*luke.peer, "(private)") == 0);

  // The accepted connection is the chat, sealed both ways.
  yoda_chat->send(yoda, proto::p2p_text{{"Hello from a raw socket"}});
  luke.peer->expect_line(text::private_text("yoda", "Hello from a raw socket"));
  luke.peer->send_line("private yoda Hello back");
  CHECK(yoda_chat->expect_text(yoda) == "Hello back");
  // Chat traffic is activity, told to the registry; the body stays off that link.
  luke.registry.expect_from_peer<proto::activity>();
  yoda_chat->send(yoda, proto::p2p_stop{});
  luke.peer->expect_line(text::private_stopped_by("yoda"));
  CHECK(yoda.wait_closed());
}

TEST_CASE("private: an open that comes before the registry's private_expect_keyed waits for it") {
  peer_behind_fake_registry luke("luke");
  const auto luke_key = luke.consent("hans");
  const auto hans_keys = fresh_keys();
  requester_attempt attempt(hans_keys, luke_key, {"hans", "luke", std::string(second_token)});
  // The dial travels faster than the registry's message to luke.
  raw_client hans(luke.port);
  hans.send_p2p(attempt.opening());
  // Nothing comes back while luke has no expectation for the key.
  CHECK_FALSE(hans.receive_body(500ms).has_value());
  luke.registry.send_to_peer(proto::private_expect_keyed{
      {"hans"}, {std::string(second_token)}, {"127.0.0.1"}, hans_keys.public_part()});
  const auto challenge = receive_clear<proto::p2p_challenge>(hans);
  REQUIRE(challenge.has_value());
  const auto proof = attempt.on_challenge(*challenge);
  REQUIRE(proof.has_value());
  hans.send_p2p(*proof);
  const auto ready = receive_clear<proto::p2p_ready>(hans);
  REQUIRE(ready.has_value());
  auto chat = attempt.on_ready(*ready);
  REQUIRE(chat.has_value());
  luke.peer->expect_line(text::private_start("hans"));
  chat->send(hans, proto::p2p_text{{"made it"}});
  luke.peer->expect_line(text::private_text("hans", "made it"));
}

namespace {

// A silent connection to a listener, and when it was opened.
struct silent_connection {
  silent_connection(std::uint16_t port, const char* from)
      : client(std::make_unique<raw_client>(port, from)) {}
  std::unique_ptr<raw_client> client;
  std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();
  // How long after its opening the listener closed it (up to refusal_timeout).
  milliseconds lifetime() {
    client->wait_closed(refusal_timeout);
    return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - opened);
  }
};

std::vector<silent_connection> open_silent(std::uint16_t port, const char* from, int count) {
  std::vector<silent_connection> connections;
  for (int i = 0; i < count; ++i) connections.emplace_back(port, from);
  return connections;
}

// yoda's whole handshake from `from`, for the expectation luke was just given.
std::optional<sealed_session> yoda_dials_from(const peer_behind_fake_registry& luke,
                                              const char* from,
                                              const crypto::chat_keypair& yoda_keys,
                                              const proto::chat_public_key& luke_key,
                                              std::unique_ptr<raw_client>& link) {
  link = std::make_unique<raw_client>(luke.port, from);
  return handshake_as_requester(*link, yoda_keys, luke_key,
                                {"yoda", "luke", std::string(issued_token)});
}

}  // namespace

TEST_CASE("private: pending handshakes are bounded per address and in total") {
  // 4 from one address, 6 in all; the listener accepts in order, so each connection below meets
  // the ones before it.
  peer_behind_fake_registry luke(
      "luke", {"--max-chat-handshakes", "6", "--max-chat-handshakes-per-address", "4"});
  auto attacker = open_silent(luke.port, "127.0.0.2", 4);
  silent_connection over_share(luke.port, "127.0.0.2");
  auto second = open_silent(luke.port, "127.0.0.3", 2);
  silent_connection over_total(luke.port, "127.0.0.4");

  // The fifth from one address, and the seventh in all, are closed at once.
  const auto over_share_lifetime = over_share.lifetime();
  const auto over_total_lifetime = over_total.lifetime();
  INFO("closed after " << over_share_lifetime.count() << " ms and " << over_total_lifetime.count()
                       << " ms");
  CHECK(over_share_lifetime < closed_at_once);
  CHECK(over_total_lifetime < closed_at_once);
  // Each bound that bit is told to luke, with its option.
  luke.peer->expect(
      "Refused a private-chat connection from 127.0.0.2: 4 connections from it are "
      "waiting for their handshake, the --max-chat-handshakes-per-address bound");
  luke.peer->expect(
      "Refused a private-chat connection from 127.0.0.4: 6 connections are waiting "
      "for their handshake, the --max-chat-handshakes bound");
  // The admitted ones wait for their open until the 5 s deadline.
  for (auto* group : {&attacker, &second})
    for (auto& connection : *group) CHECK(connection.lifetime() >= held_to_deadline);

  // Then the listener takes chats again.
  const auto yoda = luke.open_chat("yoda", issued_token);
}

TEST_CASE("private: the address the registry named gets in however full the listener is") {
  peer_behind_fake_registry luke(
      "luke", {"--max-chat-handshakes", "6", "--max-chat-handshakes-per-address", "3"});
  auto first = open_silent(luke.port, "127.0.0.2", 3);
  auto later = open_silent(luke.port, "127.0.0.3", 3);
  // Full: an address nobody named is refused.
  silent_connection stranger(luke.port, "127.0.0.4");
  CHECK(stranger.lifetime() < closed_at_once);

  // luke accepts yoda, whom the registry saw at 127.0.0.9.
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", issued_token, "127.0.0.9", yoda_keys.public_part());
  std::unique_ptr<raw_client> yoda;
  REQUIRE(yoda_dials_from(luke, "127.0.0.9", yoda_keys, luke_key, yoda).has_value());
  // The oldest silent connection made way for it, and luke is told; the others still wait for
  // their deadline.
  luke.peer->expect(
      "Closed a private-chat connection from 127.0.0.2 that had not said who it is, "
      "to make room for one from 127.0.0.9, where a requester you accepted is");
  luke.peer->expect_line(text::private_start("yoda"));
  CHECK(first[0].lifetime() < closed_at_once);
  for (std::size_t i = 1; i < first.size(); ++i) CHECK(first[i].lifetime() >= held_to_deadline);
  for (auto& connection : later) CHECK(connection.lifetime() >= held_to_deadline);
}

TEST_CASE("private: the named address over its own share gives up its oldest, not its place") {
  // The requester shares its address with silent connections (one NAT): the bound per address
  // holds, and the newest connection from there, the requester's, gets in.
  peer_behind_fake_registry luke("luke", {"--max-chat-handshakes-per-address", "2"});
  const auto luke_key = luke.consent("yoda");
  const auto yoda_keys = fresh_keys();
  luke.expect("yoda", issued_token, "127.0.0.9", yoda_keys.public_part());
  auto shared = open_silent(luke.port, "127.0.0.9", 2);
  std::unique_ptr<raw_client> yoda;
  REQUIRE(yoda_dials_from(luke, "127.0.0.9", yoda_keys, luke_key, yoda).has_value());
  luke.peer->expect_line(text::private_start("yoda"));
  CHECK(shared[0].lifetime() < closed_at_once);
  CHECK(shared[1].lifetime() >= held_to_deadline);
  // Without the expectation (used up), the same address over its share is refused.
  auto again = open_silent(luke.port, "127.0.0.9", 3);
  CHECK(again[2].lifetime() < closed_at_once);
}

TEST_CASE("private: a bad frame, or word from the registry that the other left, ends a chat") {
  peer_behind_fake_registry luke("luke");

  // A frame that does not decode (nor open) on the chat connection.
  auto yoda = luke.open_chat("yoda", issued_token);
  yoda.link->send_bytes(garbage_frame);
  luke.peer->expect_line(text::private_ended("yoda"));
  CHECK(yoda.link->wait_closed());

  // A text in clear after the handshake: every frame must be sealed.
  auto leia = luke.open_chat("leia", second_token);
  leia.link->send_p2p(proto::p2p_text{{"in clear"}});
  luke.peer->expect_line(text::private_ended("leia"));
  CHECK(leia.link->wait_closed());

  // Sealed but not what may be sealed: a stop that is not the stream's final frame, and a text
  // that is. Neither is shown.
  auto han = luke.open_chat("han", issued_token);
  han.link->send_bytes(han.chat.seal(proto::p2p_stop{}, false));
  luke.peer->expect_line(text::private_ended("han"));
  CHECK(han.link->wait_closed());
  auto obiwan = luke.open_chat("obiwan", second_token);
  obiwan.link->send_bytes(obiwan.chat.seal(proto::p2p_text{{"the last word"}}, true));
  luke.peer->expect_line(text::private_ended("obiwan"));
  CHECK(obiwan.link->wait_closed());
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "stopped private messaging") == 0);
  CHECK(count_of(*luke.peer, "(private)") == 0);

  // The registry says hans logged out while his chat connection still looks open.
  auto hans = luke.open_chat("hans", second_token);
  luke.registry.send_to_peer(proto::presence{{"hans"}, 0});
  expect_lines_in_any_order(*luke.peer, {"hans logged out", text::private_ended("hans")});
  CHECK(hans.link->wait_closed());
  CHECK(answer_to(*luke.peer, "private hans still there?") ==
        std::vector<std::string>{text::private_not_enabled("hans")});
}

}  // namespace parley::e2e

namespace parley::e2e {

TEST_CASE("private: a handshake frame over 128 bytes, or a chat frame over its bound, is refused") {
  peer_behind_fake_registry luke("luke");
  // Before any key is checked, 128 bytes are all a frame may claim (the largest handshake
  // message is 93): the header alone closes the connection, long before the 5 s deadline.
  raw_client stranger(luke.port);
  REQUIRE(stranger.send_bytes(frame_header(129)));
  CHECK(closed_without_a_word(stranger, closed_at_once));
  // 128 is still allowed: that connection waits for the rest until its deadline.
  raw_client patient(luke.port);
  REQUIRE(patient.send_bytes(frame_header(128)));
  CHECK_FALSE(patient.wait_closed(closed_at_once));

  // An open chat takes a sealed text at its bound, and nothing over the bound of such a frame.
  auto yoda = luke.open_chat("yoda", issued_token);
  const std::string longest(proto::max_text_bytes, 'y');
  yoda.chat.send(*yoda.link, proto::p2p_text{{longest}});
  luke.peer->expect_line(text::private_text("yoda", longest));
  REQUIRE(yoda.link->send_bytes(frame_header(proto::max_text_bytes + 257)));
  luke.peer->expect_line(text::private_ended("yoda"));
  CHECK(yoda.link->wait_closed());
}

}  // namespace parley::e2e
