// The private-chat listener against raw sockets (SPEC 8.4): a real peer behind a fake registry
// that issues the token, and connections from the test that present a forged, a replayed or the
// right token, or no hello at all.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

// The listener's handshake deadline is 5 s; a refused connection may stay open that long (a hello
// with an unknown token waits for the registry's private_expect), so waits for it allow more.
constexpr milliseconds refusal_timeout = 10000ms;
// A connection the listener refuses for lack of room is closed as soon as it is accepted; one it
// admits stays open until its hello is judged, or its 5 s deadline.
constexpr milliseconds closed_at_once = 1500ms;
constexpr milliseconds held_to_deadline = 4000ms;

constexpr std::string_view issued_token = "0123456789abcdef0123456789abcdef";
constexpr std::string_view forged_token = "fedcba9876543210fedcba9876543210";
constexpr std::string_view second_token = "00112233445566778899aabbccddeeff";

proto::p2p_hello hello_from(std::string_view user, std::string_view token) {
  return {proto::protocol_version, {std::string(user)}, {std::string(token)}};
}

// The fake registry speaks plain frames: its peers run with --no-tls.
std::vector<std::string> with_no_tls(std::vector<std::string> args) {
  args.push_back("--no-tls");
  return args;
}

// A real peer logged in as `user` through a fake registry, and the port it announced.
struct peer_behind_fake_registry {
  explicit peer_behind_fake_registry(std::string_view user,
                                     const std::vector<std::string>& peer_args = {},
                                     call_site where = call_site::here())
      : peer(start_peer(fake.port(), home.path(), with_no_tls(peer_args))),
        registry(fake.accept(default_timeout, where)) {
    port = registry.welcome_peer(*peer, user, where);
  }

  // The fake registry tells the peer it may expect `requester` from `address`, and waits until
  // the peer has read it: a message sent after it on the same link has been shown.
  void expect_from(std::string_view requester, std::string_view token, std::string_view address,
                   call_site where = call_site::here()) {
    registry.send_to_peer(
        proto::private_expect_from{
            {std::string(requester)}, {std::string(token)}, {std::string(address)}},
        where);
    registry.send_to_peer(
        proto::delivery{{"r2d2"}, {"expectation sent"}, proto::delivery_kind::direct}, where);
    peer->expect_line("r2d2: expectation sent", default_timeout, where);
  }

  // The fake registry asks for a chat from `requester`; the user answers y.
  void consent(std::string_view requester, call_site where = call_site::here()) {
    registry.send_to_peer(proto::private_offer{{std::string(requester)}}, where);
    peer->expect(text::private_offer(requester), default_timeout, where);
    peer->send_line("y", where);
    const auto answer = registry.expect_from_peer<proto::private_answer>(default_timeout, where);
    CHECK(answer.requester.value == requester);
    CHECK(answer.accept == 1);
  }

  // Opens a chat with `user` through the fake registry, as that user's peer would.
  std::unique_ptr<raw_client> open_chat(std::string_view user, std::string_view token,
                                        call_site where = call_site::here());

  temp_dir home;
  listener fake;
  peer_ptr peer;
  raw_client registry;
  std::uint16_t port = 0;
};

// Whether the next frame on `chat` is the listener's p2p_accept.
bool accepted(raw_client& chat) {
  const auto answer = chat.receive_p2p();
  return answer && std::holds_alternative<proto::p2p_accept>(*answer);
}

std::unique_ptr<raw_client> peer_behind_fake_registry::open_chat(std::string_view user,
                                                                 std::string_view token,
                                                                 call_site where) {
  consent(user, where);
  registry.send_to_peer(proto::private_expect{{std::string(user)}, {std::string(token)}}, where);
  auto chat = std::make_unique<raw_client>(port, where);
  chat->send_p2p(hello_from(user, token), where);
  REQUIRE(accepted(*chat));
  peer->expect_line(text::private_start(user), default_timeout, where);
  return chat;
}

std::size_t count_of(const child_process& peer, std::string_view text) {
  const auto all = peer.output().text();
  std::size_t count = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size()))
    ++count;
  return count;
}

}  // namespace

TEST_CASE("private: forged and replayed tokens are refused, the issued one is accepted once") {
  peer_behind_fake_registry luke("luke");
  luke.consent("yoda");
  luke.registry.send_to_peer(proto::private_expect{{"yoda"}, {std::string(issued_token)}});

  // Hostile connections first; each must be closed, none shown to luke.
  raw_client forged(luke.port);
  forged.send_p2p(hello_from("yoda", forged_token));
  raw_client silent(luke.port);
  raw_client not_a_hello(luke.port);
  not_a_hello.send_p2p(proto::p2p_text{{"let me in"}});
  raw_client garbage(luke.port);
  garbage.send_bytes(std::string("\x00\x00\x00\x05\xff\xfe\xfd\xfc\xfb", 9));

  // The issued token, from the user it was issued for.
  raw_client yoda(luke.port);
  yoda.send_p2p(hello_from("yoda", issued_token));
  REQUIRE(accepted(yoda));
  luke.peer->expect_line(text::private_start("yoda"));

  // The same token again, as yoda and as someone else: it was used.
  raw_client replayed(luke.port);
  replayed.send_p2p(hello_from("yoda", issued_token));
  raw_client stolen(luke.port);
  stolen.send_p2p(hello_from("hans", issued_token));

  CHECK(forged.wait_closed(refusal_timeout));
  CHECK(silent.wait_closed(refusal_timeout));
  CHECK(not_a_hello.wait_closed(refusal_timeout));
  CHECK(garbage.wait_closed(refusal_timeout));
  CHECK(replayed.wait_closed(refusal_timeout));
  CHECK(stolen.wait_closed(refusal_timeout));
  luke.peer->read_output();
  CHECK(count_of(*luke.peer, "Start private messaging") == 1);
  CHECK(count_of(*luke.peer, "(private)") == 0);

  // The accepted connection is the chat.
  yoda.send_p2p(proto::p2p_text{{"Hello from a raw socket"}});
  luke.peer->expect_line(text::private_text("yoda", "Hello from a raw socket"));
  luke.peer->send_line("private yoda Hello back");
  const auto reply = yoda.receive_p2p();
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<proto::p2p_text>(*reply));
  CHECK(std::get<proto::p2p_text>(*reply).text.value == "Hello back");
  // Chat traffic is activity, told to the registry; the body stays off that link.
  luke.registry.expect_from_peer<proto::activity>();
  yoda.send_p2p(proto::p2p_stop{});
  luke.peer->expect_line(text::private_stopped_by("yoda"));
  CHECK(yoda.wait_closed());
}

TEST_CASE("private: a hello that comes before the registry's private_expect waits for it") {
  peer_behind_fake_registry luke("luke");
  luke.consent("hans");
  // The dial travels faster than the registry's message to luke.
  raw_client hans(luke.port);
  hans.send_p2p(hello_from("hans", second_token));
  luke.registry.send_to_peer(proto::private_expect{{"hans"}, {std::string(second_token)}});
  REQUIRE(accepted(hans));
  luke.peer->expect_line(text::private_start("hans"));
  hans.send_p2p(proto::p2p_text{{"made it"}});
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
  // The admitted ones wait for their hello until the 5 s deadline.
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
  luke.consent("yoda");
  luke.expect_from("yoda", issued_token, "127.0.0.9");
  raw_client yoda(luke.port, "127.0.0.9");
  yoda.send_p2p(hello_from("yoda", issued_token));
  REQUIRE(accepted(yoda));
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
  luke.consent("yoda");
  luke.expect_from("yoda", issued_token, "127.0.0.9");
  auto shared = open_silent(luke.port, "127.0.0.9", 2);
  raw_client yoda(luke.port, "127.0.0.9");
  yoda.send_p2p(hello_from("yoda", issued_token));
  REQUIRE(accepted(yoda));
  luke.peer->expect_line(text::private_start("yoda"));
  CHECK(shared[0].lifetime() < closed_at_once);
  CHECK(shared[1].lifetime() >= held_to_deadline);
  // Without the expectation, the same address over its share is refused.
  auto again = open_silent(luke.port, "127.0.0.9", 3);
  CHECK(again[2].lifetime() < closed_at_once);
}

TEST_CASE("private: a bad frame, or word from the registry that the other left, ends a chat") {
  peer_behind_fake_registry luke("luke");

  // A frame that does not decode on the chat connection.
  auto yoda = luke.open_chat("yoda", issued_token);
  yoda->send_bytes(std::string("\x00\x00\x00\x05\xff\xfe\xfd\xfc\xfb", 9));
  luke.peer->expect_line(text::private_ended("yoda"));
  CHECK(yoda->wait_closed());

  // The registry says hans logged out while his chat connection still looks open.
  auto hans = luke.open_chat("hans", second_token);
  luke.registry.send_to_peer(proto::presence{{"hans"}, 0});
  expect_lines_in_any_order(*luke.peer, {"hans logged out", text::private_ended("hans")});
  CHECK(hans->wait_closed());
  CHECK(answer_to(*luke.peer, "private hans still there?") ==
        std::vector<std::string>{text::private_not_enabled("hans")});
}

}  // namespace parley::e2e
