// Starting a private chat (SPEC 8.1 to 8.4): every refusal, the y/n consent with its queue, and a
// decline however it comes about.
#include "tests/e2e/fake_registry_peer.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/sealed_p2p.hpp"

#include "shared/proto/text.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

using lines = std::vector<std::string>;

// Whether `peer` was ever asked for a private chat by `requester`.
bool was_asked(child_process& peer, std::string_view requester) {
  peer.read_output();
  return peer.output().text().find(text::private_offer(requester)) != std::string::npos;
}

// A raw client's private_listen, known to the registry once the answer to a later command on
// the same link has come back.
void announce_port(raw_client& client, std::uint16_t port) {
  client.send(proto::private_listen{port});
  client.send(proto::who_else{});
  // The answer: a list, or "no other users online" as a command_reply.
  while (true) {
    const auto message = client.receive();
    REQUIRE(message.has_value());
    if (std::holds_alternative<proto::user_list>(*message) ||
        std::holds_alternative<proto::command_reply>(*message))
      return;
  }
}

// `startprivate luke` by yoda, answered yes by luke, a raw client, with `luke_keys`' public half;
// returns whom the offer named.
std::string raw_luke_accepts(const user_peer& yoda, raw_client& luke,
                             const crypto::chat_keypair& luke_keys) {
  yoda->send_line("startprivate luke");
  auto requester = luke.expect<proto::private_offer>().from.value;
  luke.send(proto::private_consent{{"yoda"}, luke_keys.public_part()});
  return requester;
}

}  // namespace

TEST_CASE("private: every refusal of startprivate has its own text") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");

  // A name no account could have (33 characters) is refused by the peer itself.
  CHECK(answer_to(*yoda, "startprivate " + std::string(33, 'x')) ==
        lines{std::string(text::invalid_user)});
  // A well-formed name without an account is refused by the registry.
  CHECK(answer_to(*yoda, "startprivate nobody") == lines{std::string(text::invalid_user)});
  CHECK(answer_to(*yoda, "startprivate yoda") == lines{std::string(text::cannot_private_self)});
  // leia has an account (in the credentials file) but is not logged in.
  CHECK(answer_to(*yoda, "startprivate leia") == lines{text::user_offline("leia")});
  // The alias says the same.
  CHECK(answer_to(*yoda, "privatestart leia") == lines{text::user_offline("leia")});

  // Blocked: luke is not even asked.
  CHECK(answer_to(*luke, "block yoda") == lines{"yoda is blocked"});
  CHECK(answer_to(*yoda, "startprivate luke") == lines{text::private_blocked("luke")});
  // (Checked after a round trip of luke's own: an offer would have come before its answer.)
  CHECK(answer_to(*luke, "unblock yoda") == lines{"yoda is unblocked"});
  CHECK_FALSE(was_asked(*luke, "yoda"));

  // A second request while the first one waits for luke's answer.
  yoda->send_line("startprivate luke");
  luke->expect(text::private_offer("yoda"));
  CHECK(answer_to(*yoda, "startprivate luke") == lines{text::private_pending("luke")});

  // Without a chat there is nothing to send to or stop.
  CHECK(answer_to(*yoda, "private luke too early") == lines{text::private_not_enabled("luke")});
  CHECK(answer_to(*yoda, "stopprivate luke") == lines{text::private_not_enabled("luke")});

  // Once open, in either direction, the chat cannot be started again.
  accept_private_chat(yoda, luke);
  CHECK(answer_to(*yoda, "startprivate luke") == lines{text::private_already_enabled("luke")});
  CHECK(answer_to(*luke, "startprivate yoda") == lines{text::private_already_enabled("yoda")});
  CHECK(answer_to(*luke, "privatestart yoda") == lines{text::private_already_enabled("yoda")});

  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: a user whose peer announced no port cannot be asked") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  // A client that logs in but never sends private_listen.
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  yoda->expect_line("luke logged in");
  CHECK(answer_to(*yoda, "startprivate luke") == lines{text::private_unavailable("luke")});
  log_out(*yoda);
}

TEST_CASE("private: the registry hands the requester the address it saw and the announced port") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  // luke is a raw client announcing a port the test listens on, so the test sees what yoda's
  // peer presents when it dials, and runs luke's side of the handshake.
  listener luke_listener;
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  announce_port(luke, luke_listener.port());
  yoda->expect_line("luke logged in");

  const auto luke_keys = crypto::chat_keypair::generate();
  CHECK(raw_luke_accepts(yoda, luke, luke_keys) == "yoda");
  const auto expectation = luke.expect<proto::private_expect_keyed>();
  CHECK(expectation.peer.value == "yoda");
  CHECK(proto::is_valid_token(expectation.token.value));
  // And luke is told where the registry saw yoda connect from (SPEC 8.8).
  CHECK(expectation.address.value == "127.0.0.1");

  auto chat = luke_listener.accept();
  handshake_frames frames;
  auto sealed = handshake_as_target(chat, luke_keys, expectation.peer_key,
                                    {"yoda", "luke", expectation.token.value}, &frames);
  // yoda's open is version 3 with the key the registry relayed to luke; no name and no token
  // cross in clear (the token is bound in the proofs).
  const auto opening = decode_clear(std::string_view(frames.open).substr(4));
  REQUIRE(opening.has_value());
  const auto* open = std::get_if<proto::p2p_open>(&*opening);
  REQUIRE(open != nullptr);
  CHECK(open->version == crypto::handshake_version);
  CHECK(open->requester_key == expectation.peer_key);
  const auto handshake = frames.open + frames.challenge + frames.proof + frames.ready;
  CHECK(handshake.find(expectation.token.value) == std::string::npos);
  CHECK(handshake.find(token_bytes(expectation.token.value)) == std::string::npos);
  CHECK(handshake.find("yoda") == std::string::npos);
  REQUIRE(sealed.has_value());
  yoda->expect_line(text::private_accepts("luke"));
  yoda->expect_line(text::private_start("luke"));

  yoda->send_line("private luke over the wire");
  CHECK(sealed->expect_text(chat) == "over the wire");
  log_out(*yoda);
  // yoda's own logout closes the chat without a stop.
  CHECK(closed_without_a_word(chat, default_timeout));
}

TEST_CASE("private: a dial that is refused tells the requester") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  listener luke_listener;
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  announce_port(luke, luke_listener.port());
  yoda->expect_line("luke logged in");

  const auto luke_keys = crypto::chat_keypair::generate();
  raw_luke_accepts(yoda, luke, luke_keys);
  luke.expect<proto::private_expect_keyed>();
  // luke's side reads the open and hangs up instead of answering it.
  {
    auto chat = luke_listener.accept();
    REQUIRE(receive_clear<proto::p2p_open>(chat).has_value());
  }
  yoda->expect_line(text::private_dial_failed("luke"));
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});

  // Whoever answers at luke's address without luke's chat key (the token and yoda's key are
  // not enough) makes a challenge that does not check: the dial fails the same way.
  raw_luke_accepts(yoda, luke, luke_keys);
  const auto expectation = luke.expect<proto::private_expect_keyed>();
  auto impostor = luke_listener.accept();
  const auto impostor_keys = crypto::chat_keypair::generate();
  CHECK_FALSE(handshake_as_target(impostor, impostor_keys, expectation.peer_key,
                                  {"yoda", "luke", expectation.token.value})
                  .has_value());
  yoda->expect_line(text::private_dial_failed("luke"));
  yoda->read_output();
  CHECK(count_of(*yoda, text::private_start("luke")) == 0);
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});
  log_out(*yoda);
}

TEST_CASE("private: n declines, and anything but y or n asks again") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");

  yoda->send_line("privatestart luke");
  luke->expect(text::private_offer("yoda"));
  luke->send_line("maybe");
  luke->expect(text::private_offer("yoda"));
  luke->send_line("whoelse");
  luke->expect(text::private_offer("yoda"));
  // Any case, spaces around it ignored.
  luke->send_line("  N ");
  yoda->expect_line(text::private_declined("luke"));
  // luke's commands work again, and nothing was opened.
  CHECK(answer_to(*luke, "whoelse") == lines{"yoda"});
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});

  // Asked again, an upper-case Y accepts.
  open_private_chat(yoda, luke, " Y");
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: requests queue and the answers go to the oldest first") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  auto hans = logged_in_user(registry, "hans");
  auto luke = logged_in_user(registry, "luke");
  yoda->expect_line("luke logged in");
  hans->expect_line("luke logged in");

  yoda->send_line("startprivate luke");
  luke->expect(text::private_offer("yoda"));
  hans->send_line("startprivate luke");
  // hans's request is queued behind yoda's; the registry has passed it on by the time hans's
  // next command is answered.
  const auto others = answer_to(*hans, "whoelse");
  CHECK(std::find(others.begin(), others.end(), "luke") != others.end());

  luke->send_line("n");
  yoda->expect_line(text::private_declined("luke"));
  luke->expect(text::private_offer("hans"));
  accept_private_chat(hans, luke);
  CHECK_FALSE(yoda->output().text().find(text::private_start("luke")) != std::string::npos);

  log_out(*luke);
  hans->expect_line(text::private_ended("luke"));
  log_out(*hans);
  log_out(*yoda);
}

TEST_CASE("private: the consent prompt is answered while other messages arrive") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  auto hans = logged_in_user(registry, "hans");
  auto luke = logged_in_user(registry, "luke");
  yoda->expect_line("luke logged in");
  hans->expect_line("luke logged in");

  yoda->send_line("startprivate luke");
  luke->expect(text::private_offer("yoda"));
  // Messages arrive while luke is asked; the question stays and is asked again below them.
  hans->send_line("message luke Are you there?");
  hans->send_line("broadcast Anyone?");
  luke->expect_line("hans: Are you there?");
  luke->expect_line("hans: Anyone?");
  luke->expect(text::private_offer("yoda"));
  accept_private_chat(yoda, luke);

  // An answer typed halfway when a message arrives is kept.
  hans->send_line("startprivate luke");
  luke->expect(text::private_offer("hans"));
  luke->send_raw("n");
  yoda->send_line("message luke Still here");
  luke->expect_line("yoda: Still here");
  luke->send_line("");
  hans->expect_line(text::private_declined("luke"));
  log_out(*luke);
  log_out(*hans);
  log_out(*yoda);
}

TEST_CASE("private: the requester is told of a decline when the target leaves unasked") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");

  // luke's peer is killed while it asks luke.
  yoda->send_line("startprivate luke");
  luke->expect(text::private_offer("yoda"));
  luke->signal(SIGKILL);
  luke->wait_exit();
  expect_lines_in_any_order(*yoda, {text::private_declined("luke"), "luke logged out"});

  // luke, a raw client this time, logs out with the request waiting.
  raw_client raw_luke(registry.port());
  raw_luke.log_in("luke", password_of("luke"));
  announce_port(raw_luke, unused_port());
  yoda->expect_line("luke logged in");
  yoda->send_line("startprivate luke");
  raw_luke.expect<proto::private_offer>();
  raw_luke.send(proto::logout_request{});
  expect_lines_in_any_order(*yoda, {text::private_declined("luke"), "luke logged out"});
  log_out(*yoda);
}

TEST_CASE("private: an unanswered request is declined when the target times out") {
  constexpr int timeout_seconds = 2;
  registry_fixture registry({.timeout_seconds = timeout_seconds});
  auto luke = logged_in_user(registry, "luke");
  auto yoda = logged_in_user(registry, "yoda");
  yoda->send_line("startprivate luke");
  luke->expect(text::private_offer("yoda"));

  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds) + default_timeout;
  // The requester issues a command now and then while luke idles.
  REQUIRE(keep_active_until(*yoda, text::private_declined("luke"), give_up,
                            [&] { yoda->send_line("whoelse"); }));
  luke->expect_line(text::inactivity);
  CHECK(luke->wait_exit() == 0);
  log_out(*yoda);
}

TEST_CASE("private: a target with 16 requests waiting takes no more") {
  // As many requests as may wait for one user's answer (the registry's and the peer's bound).
  constexpr int max_waiting = 16;
  constexpr std::string_view extra_password = "padawan";
  // 16 more accounts, to ask luke from raw clients.
  std::vector<std::string> askers;
  std::string credentials = sample_credentials();
  for (int i = 1; i <= max_waiting; ++i) {
    askers.push_back("asker" + std::to_string(i));
    credentials += askers.back() + " " + std::string(extra_password) + "\n";
  }
  registry_fixture registry({.credentials = credentials});
  auto luke = logged_in_user(registry, "luke");
  auto yoda = logged_in_user(registry, "yoda");

  std::vector<std::unique_ptr<raw_client>> clients;
  for (const auto& asker : askers) {
    clients.push_back(std::make_unique<raw_client>(registry.port()));
    clients.back()->log_in(asker, extra_password);
    clients.back()->send(proto::private_request{{"luke"}});
    const auto reply = clients.back()->expect<proto::command_reply>();
    CHECK(reply.result == proto::outcome::private_requested);
  }
  yoda->expect_line("asker16 logged in");
  CHECK(answer_to(*yoda, "startprivate luke") == lines{text::private_busy("luke")});

  // luke is asked in order; once the first is answered there is room again.
  luke->expect(text::private_offer(askers.front()));
  luke->send_line("n");
  CHECK(clients.front()->expect<proto::private_declined>().peer.value == "luke");
  luke->expect(text::private_offer(askers[1]));
  CHECK(answer_to(*yoda, "startprivate luke") == lines{});
}

}  // namespace parley::e2e
