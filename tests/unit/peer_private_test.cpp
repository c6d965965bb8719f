// Private chats in the peer's core (SPEC 8, SPEC 10): the startprivate request with its chat key
// and its replies, the consent prompt and its queue, the keyed grant and dial, the listener's
// expectations by requester key (attempts bounded, used up only by a proven handshake), the chat
// itself and its safety number, its endings, and a chat that outlives the registry.
#include "peer/core/peer_core.hpp"
#include "peer/core/private_chats.hpp"
#include "peer/core/texts.hpp"
#include "tests/unit/peer_core_harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace parley;
using namespace parley::peer;
using namespace parley::peer::testing;

namespace {

const std::string token_a = "0123456789abcdef0123456789abcdef";
const std::string token_b = "fedcba9876543210fedcba9876543210";
const std::string consent_yoda = "yoda would like to private message, enter y or n: ";

// A key the core can only compare: the handshake itself runs in the shell.
proto::chat_public_key key_of(std::uint8_t seed) {
  proto::chat_public_key key{};
  key.fill(seed);
  return key;
}
const auto yoda_key = key_of(1);
const auto leia_key = key_of(2);
const auto luke_key = key_of(3);

// The chat key a private_consent or private_invite carried (the last one sent).
proto::chat_public_key sent_key(const harness& h) {
  for (auto it = h.sent.rbegin(); it != h.sent.rend(); ++it) {
    if (const auto* c = std::get_if<proto::private_consent>(&*it)) return c->chat_key;
    if (const auto* i = std::get_if<proto::private_invite>(&*it)) return i->chat_key;
  }
  FAIL("no key was sent");
  return {};
}

// Logged in, with a chat accepted from `user`.
void open_chat_from(harness& h, const std::string& user, const std::string& token,
                    const proto::chat_public_key& key = yoda_key) {
  h.expect_chat(user, token, key);
  REQUIRE(h.open(key).verdict == open_verdict::answer);
  REQUIRE(h.proven(user, key));
}

// Logged in, with a chat this user started with `user` open.
void open_chat_to(harness& h, const std::string& user) {
  h.type("startprivate " + user);
  h.reply(proto::outcome::private_requested, user);
  h.receive(proto::private_granted_keyed{proto::name_string(user), "127.0.0.1", 40000, token_a,
                                         luke_key});
  h.dialed(user, true);
}

}  // namespace

// ---------------------------------------------------------------- startprivate

TEST_CASE("peer private: the listening port is announced on connecting, before login") {
  harness fresh;
  fresh.core.set_private_port(40123);
  fresh.connect();
  CHECK(fresh.sent == msgs{proto::private_listen{40123}});
  fresh.sent.clear();
  fresh.type("yoda");
  fresh.login_reply(proto::login_result::ask_password);
  fresh.type("wise");
  fresh.login_reply(proto::login_result::welcome);
  // Not again at the welcome.
  CHECK(fresh.sent == msgs{proto::login_name{"yoda"}, proto::login_password{"wise"}});
}

TEST_CASE("peer private: startprivate asks the registry and prints each refusal") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  REQUIRE(h.sent.size() == 1);
  const auto* invite = std::get_if<proto::private_invite>(&h.sent.front());
  REQUIRE(invite != nullptr);
  CHECK(invite->to.value == "luke");
  CHECK(invite->chat_key != proto::chat_public_key{});
  CHECK(h.core.ready_for_input());  // a script may read ahead meanwhile
  h.reply(proto::outcome::private_requested, "luke");
  CHECK(h.lines.empty());

  const auto refusal = [&](proto::outcome result) {
    h.forget();
    h.type("privatestart luke");
    REQUIRE(h.sent.size() == 1);
    CHECK(std::holds_alternative<proto::private_invite>(h.sent.front()));
    h.reply(result, "luke");
    REQUIRE(h.lines.size() == 1);
    return h.lines.front();
  };
  CHECK(refusal(proto::outcome::invalid_user) == "Error. Invalid user");
  CHECK(refusal(proto::outcome::cannot_private_self) ==
        "Error. Cannot start private messaging with self");
  CHECK(refusal(proto::outcome::user_offline) == "Error. luke is offline");
  CHECK(refusal(proto::outcome::private_blocked) ==
        "Error. Cannot start private messaging as luke has blocked you");
  CHECK(refusal(proto::outcome::private_pending) ==
        "Error. A private messaging request to luke is already waiting");
  CHECK(refusal(proto::outcome::private_busy) ==
        "Error. luke has too many private messaging requests waiting");
  CHECK(refusal(proto::outcome::private_unavailable) ==
        "Error. luke cannot accept private messaging");
}

TEST_CASE("peer private: a bad name never reaches the registry") {
  harness h;
  h.log_in();
  h.type("startprivate lu\x01ke");
  CHECK(h.lines == strings{"Error. Invalid user"});
  CHECK(h.sent.empty());
}

TEST_CASE("peer private: a chat already open, either way, is refused locally") {
  harness h;
  h.log_in();
  open_chat_to(h, "luke");
  open_chat_from(h, "leia", token_b);
  h.forget();
  h.type("startprivate luke");
  h.type("privatestart leia");
  CHECK(h.lines == strings{"Error. Private messaging with luke already enabled",
                           "Error. Private messaging with leia already enabled"});
  CHECK(h.sent.empty());
}

TEST_CASE("peer private: a chat being dialed counts as enabled") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  h.reply(proto::outcome::private_requested, "luke");
  h.receive(proto::private_granted_keyed{"luke", "127.0.0.1", 40000, token_a, luke_key});
  h.forget();
  h.type("startprivate luke");
  CHECK(h.lines == strings{"Error. Private messaging with luke already enabled"});
  CHECK(h.sent.empty());
}

// ---------------------------------------------------------------- requester side

TEST_CASE("peer private: granted with a key, dialed with the invite's key pair, opened") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  const auto own = sent_key(h);
  h.reply(proto::outcome::private_requested, "luke");
  h.forget();
  h.receive(proto::private_granted_keyed{"luke", "10.0.0.7", 40001, token_a, luke_key});
  REQUIRE(h.chats.size() == 1);
  const auto* dial = std::get_if<dial_chat>(&h.chats.front());
  REQUIRE(dial != nullptr);
  CHECK(dial->user == "luke");
  CHECK(dial->address == "10.0.0.7");
  CHECK(dial->port == 40001);
  CHECK(dial->secrets.requester == "yoda");
  CHECK(dial->secrets.target == "luke");
  CHECK(dial->secrets.token == token_a);
  CHECK(dial->secrets.peer_key == luke_key);
  REQUIRE(dial->secrets.own != nullptr);
  CHECK(dial->secrets.own->public_part() == own);
  CHECK(h.lines.empty());
  h.dialed("luke", true, "0123 4567 8901");
  CHECK(h.lines == strings{"luke accepts private messaging", "Start private messaging with luke"});
  CHECK(h.core.completions("private ", "l") == strings{"luke"});
  h.forget();
  h.type("verify luke");
  CHECK(h.lines == strings{"Safety number with luke: 0123 4567 8901"});
  CHECK(h.sent == msgs{proto::activity{}});
}

TEST_CASE("peer private: a repeated startprivate keeps the key the registry holds") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  const auto first = sent_key(h);
  h.reply(proto::outcome::private_requested, "luke");
  h.type("startprivate luke");
  CHECK(sent_key(h) == first);
  h.reply(proto::outcome::private_pending, "luke");
  // Another user's request gets a key of its own.
  h.type("startprivate leia");
  CHECK(sent_key(h) != first);
}

TEST_CASE("peer private: a grant without a keyed request of this peer's dials nothing") {
  harness h;
  h.log_in();
  // Unkeyed (version 2): never dialed.
  h.receive(proto::private_granted{"luke", "10.0.0.7", 40001, token_a});
  // Keyed, but for no startprivate typed here.
  h.receive(proto::private_granted_keyed{"luke", "10.0.0.7", 40001, token_a, luke_key});
  CHECK(h.chats.empty());
  // A grant uses the invite up: a second one for the same request dials nothing more.
  h.type("startprivate leia");
  h.reply(proto::outcome::private_requested, "leia");
  h.receive(proto::private_granted_keyed{"leia", "10.0.0.7", 40001, token_a, leia_key});
  h.dialed("leia", false);
  h.forget();
  h.receive(proto::private_granted_keyed{"leia", "10.0.0.7", 40001, token_a, leia_key});
  CHECK(h.chats.empty());
}

TEST_CASE("peer private: a dial that fails says so, and a new request may follow") {
  harness h;
  h.log_in();
  open_chat_to(h, "luke");
  h.type("stopprivate luke");
  h.type("startprivate luke");
  h.reply(proto::outcome::private_requested, "luke");
  h.receive(proto::private_granted_keyed{"luke", "10.0.0.7", 40001, token_a, luke_key});
  h.forget();
  h.dialed("luke", false);
  CHECK(h.lines == strings{"Error. Could not connect to luke for private messaging"});
  h.forget();
  h.type("startprivate luke");
  REQUIRE(h.sent.size() == 1);
  CHECK(std::holds_alternative<proto::private_invite>(h.sent.front()));
}

TEST_CASE("peer private: declined") {
  harness h;
  h.log_in();
  h.receive(proto::private_declined{"luke"});
  CHECK(h.lines == strings{"luke declined private messaging"});
}

// ---------------------------------------------------------------- consent

TEST_CASE("peer private: the consent prompt takes the next line") {
  harness h;
  h.log_in();
  h.receive(proto::private_offer{"yoda"});
  CHECK(h.last_prompt() == consent_yoda);
  CHECK_FALSE(h.core.current_prompt().history);
  CHECK(h.core.ready_for_input());

  SUBCASE("y, any case, spaces around") {
    h.type("  Y ");
    REQUIRE(h.sent.size() == 1);
    const auto* consent = std::get_if<proto::private_consent>(&h.sent.front());
    REQUIRE(consent != nullptr);
    CHECK(consent->requester.value == "yoda");
    CHECK(consent->chat_key != proto::chat_public_key{});
  }
  SUBCASE("n") {
    h.type("n");
    CHECK(h.sent == msgs{proto::private_answer{"yoda", 0}});
  }
  SUBCASE("anything else asks again") {
    h.type("yes");
    h.type("whoelse");
    h.type("");
    CHECK(h.sent.empty());
    CHECK(h.prompts.size() == 4);
    CHECK(h.last_prompt() == consent_yoda);
    h.type("N\r");
    CHECK(h.sent == msgs{proto::private_answer{"yoda", 0}});
  }
  CHECK(h.lines.empty());
  CHECK(h.last_prompt() == "> ");
  CHECK(h.core.current_prompt().history);
}

TEST_CASE("peer private: offers queue, the oldest is asked first") {
  harness h;
  h.log_in();
  h.receive(proto::private_offer{"yoda"});
  h.receive(proto::private_offer{"leia"});
  h.receive(proto::private_offer{"yoda"});  // a repeat is not asked twice
  CHECK(h.prompts.size() == 1);
  h.type("y");
  CHECK(h.last_prompt() == "leia would like to private message, enter y or n: ");
  h.type("n");
  CHECK(h.last_prompt() == "> ");
  REQUIRE(h.sent.size() == 2);
  CHECK(std::holds_alternative<proto::private_consent>(h.sent[0]));
  CHECK(h.sent[1] == proto::client_message{proto::private_answer{"leia", 0}});
}

TEST_CASE("peer private: offers past the bound are declined at once") {
  harness h;
  h.log_in();
  for (std::size_t i = 0; i < max_waiting_offers; ++i)
    h.receive(proto::private_offer{proto::name_string("user" + std::to_string(i))});
  CHECK(h.sent.empty());
  h.receive(proto::private_offer{"late"});
  CHECK(h.sent == msgs{proto::private_answer{"late", 0}});
}

TEST_CASE("peer private: the answer does not wait behind a pending reply") {
  harness h;
  h.log_in();
  h.type("message leia hi");
  h.type("whoelse");  // typed before the offer: waits its turn
  h.receive(proto::private_offer{"yoda"});
  CHECK(h.last_prompt() == consent_yoda);
  h.type("y");
  REQUIRE(h.sent.size() == 2);
  CHECK(h.sent[0] == proto::client_message{proto::direct_message{"leia", "hi"}});
  CHECK(std::holds_alternative<proto::private_consent>(h.sent[1]));
  h.reply(proto::outcome::message_delivered);
  CHECK(h.sent.back() == proto::client_message{proto::who_else{}});
  CHECK(h.last_prompt() == "> ");
}

TEST_CASE("peer private: lines queued before an offer still run as commands") {
  harness h;
  h.log_in();
  h.type("message leia hi");
  h.type("help");
  h.receive(proto::private_offer{"yoda"});
  const auto shown = h.prompts.size();
  h.reply(proto::outcome::message_delivered);
  CHECK(h.lines.size() == command_table().size());
  // The consent prompt stays, and is not written again for each queued line.
  CHECK(h.prompts.size() == shown);
  CHECK(h.core.current_prompt().text == consent_yoda);
}

// ---------------------------------------------------------------- listener side

TEST_CASE(
    "peer private: an open with the expected key is answered; the proof opens the chat once") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  const auto own = sent_key(h);
  h.forget();
  const auto judgement = h.open(yoda_key);
  REQUIRE(judgement.verdict == open_verdict::answer);
  // What the target's handshake needs: the names in role order, the token, the consent's key
  // pair, the key the registry relayed.
  CHECK(judgement.expected.requester == "yoda");
  CHECK(judgement.expected.target == "yoda");  // the harness's own name
  CHECK(judgement.expected.token == token_a);
  CHECK(judgement.expected.peer_key == yoda_key);
  REQUIRE(judgement.expected.own != nullptr);
  CHECK(judgement.expected.own->public_part() == own);
  CHECK(h.lines.empty());
  CHECK(h.proven("yoda", yoda_key, "9999 8888 7777"));
  CHECK(h.lines == strings{"Start private messaging with yoda"});
  // Used up: the same key again is unknown, and a second proof opens nothing.
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
  CHECK_FALSE(h.proven("yoda", yoda_key));
  h.forget();
  h.type("verify yoda");
  CHECK(h.lines == strings{"Safety number with yoda: 9999 8888 7777"});
}

TEST_CASE("peer private: a key nobody vouched for is unknown, a proof under another name fails") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  CHECK(h.open(leia_key).verdict == open_verdict::unknown);
  CHECK_FALSE(h.proven("vader", yoda_key));
  CHECK_FALSE(h.proven("yoda", leia_key));
  // The failures did not use it up for the user it was issued for.
  CHECK(h.open(yoda_key).verdict == open_verdict::answer);
  CHECK(h.proven("yoda", yoda_key));
}

TEST_CASE("peer private: at most max_handshake_attempts answers per expectation") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  for (int i = 0; i < max_handshake_attempts; ++i)
    CHECK(h.open(yoda_key).verdict == open_verdict::answer);
  // The next one drops the expectation: not even a proof of the real requester opens it now.
  CHECK(h.open(yoda_key).verdict == open_verdict::refused);
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
  CHECK_FALSE(h.proven("yoda", yoda_key));
  CHECK(h.lines.empty());
}

TEST_CASE("peer private: an expectation lives 60 seconds from its receipt") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  h.expect_chat("leia", token_b, leia_key);
  h.forget();
  h.now += token_lifetime - std::chrono::milliseconds(1);
  CHECK(h.open(leia_key).verdict == open_verdict::answer);
  CHECK(h.proven("leia", leia_key));
  h.now += std::chrono::milliseconds(1);
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
  CHECK(h.lines == strings{"Start private messaging with leia"});
}

TEST_CASE("peer private: an open before its private_expect_keyed is judged again later") {
  harness h;
  h.log_in();
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
  h.expect_chat("yoda", token_a, yoda_key);
  CHECK(h.open(yoda_key).verdict == open_verdict::answer);
}

TEST_CASE("peer private: an expectation needs this peer's y, unkeyed ones are ignored") {
  harness h;
  h.log_in();
  // No y was typed for yoda: nothing to expect.
  h.receive(proto::private_expect_keyed{"yoda", token_a, "10.0.0.9", yoda_key});
  // Version 2's expectations carry no key.
  h.receive(proto::private_expect{"leia", token_a});
  h.receive(proto::private_expect_from{"leia", token_a, "10.0.0.9"});
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
  CHECK_FALSE(h.core.expects_private_from("10.0.0.9", h.now));
  // A no keeps nothing either.
  h.receive(proto::private_offer{"luke"});
  h.type("n");
  h.receive(proto::private_expect_keyed{"luke", token_a, "10.0.0.9", luke_key});
  CHECK(h.open(luke_key).verdict == open_verdict::unknown);
}

TEST_CASE("peer private: the address the registry saw is expected while the expectation lives") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key, "10.0.0.9");
  CHECK(h.core.expects_private_from("10.0.0.9", h.now));
  CHECK_FALSE(h.core.expects_private_from("10.0.0.8", h.now));
  REQUIRE(h.open(yoda_key).verdict == open_verdict::answer);
  REQUIRE(h.proven("yoda", yoda_key));
  CHECK_FALSE(h.core.expects_private_from("10.0.0.9", h.now));
}

TEST_CASE("peer private: an open of another protocol version is refused") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  CHECK(h.open(yoda_key, static_cast<std::uint16_t>(crypto::handshake_version + 1)).verdict ==
        open_verdict::refused);
}

TEST_CASE("peer private: a second chat with the same user is refused") {
  harness h;
  h.log_in();
  open_chat_to(h, "yoda");
  h.expect_chat("yoda", token_b, yoda_key);
  CHECK(h.open(yoda_key).verdict == open_verdict::refused);
  CHECK_FALSE(h.proven("yoda", yoda_key));
}

TEST_CASE("peer private: no open is judged before login") {
  harness h;
  h.connect();
  CHECK(h.open(yoda_key).verdict == open_verdict::refused);
}

TEST_CASE("peer private: verify without an open chat is an error, not activity") {
  harness h;
  h.log_in();
  h.type("verify luke");
  CHECK(h.lines == strings{"Error. Private messaging to luke not enabled"});
  CHECK(h.sent.empty());
}

// ---------------------------------------------------------------- the chat

TEST_CASE("peer private: messages both ways, each sent one is activity") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  h.forget();
  h.type("private yoda hello there ");
  CHECK(h.chats == std::vector<chat_action>{send_on_chat{"yoda", proto::p2p_text{"hello there "}}});
  CHECK(h.sent == msgs{proto::activity{}});
  CHECK(h.lines.empty());
  h.chat_message("yoda", proto::p2p_text{"do or do not\x1b[2J"});
  CHECK(h.lines == strings{"yoda(private): do or do not\\e[2J"});
}

TEST_CASE("peer private: private and stopprivate with no chat are errors, not activity") {
  harness h;
  h.log_in();
  h.type("private luke hi");
  h.type("stopprivate luke");
  CHECK(h.lines == strings{"Error. Private messaging to luke not enabled",
                           "Error. Private messaging to luke not enabled"});
  CHECK(h.sent.empty());
  CHECK(h.chats.empty());
}

TEST_CASE("peer private: stopprivate") {
  harness h;
  h.log_in();
  open_chat_to(h, "luke");
  h.forget();
  h.type("stopprivate luke");
  CHECK(h.lines == strings{"Private messaging with luke stopped"});
  CHECK(h.chats == std::vector<chat_action>{send_on_chat{"luke", proto::p2p_stop{}},
                                            close_chat{"luke", true}});
  CHECK(h.sent == msgs{proto::activity{}});
  // Its connection's end is no news.
  h.chat_closed("luke");
  CHECK(h.lines.size() == 1);
  h.type("private luke still there?");
  CHECK(h.lines.back() == "Error. Private messaging to luke not enabled");
}

TEST_CASE("peer private: the other side stops") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  h.forget();
  h.chat_message("yoda", proto::p2p_stop{});
  CHECK(h.lines == strings{"yoda stopped private messaging"});
  CHECK(h.chats == std::vector<chat_action>{close_chat{"yoda", false}});
  h.chat_closed("yoda");
  CHECK(h.lines.size() == 1);
}

TEST_CASE("peer private: a chat ends when its connection does, or its user goes offline") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  open_chat_to(h, "leia");
  h.forget();
  h.chat_closed("yoda");
  CHECK(h.lines == strings{"Private messaging with yoda ended"});
  h.receive(proto::presence{"leia", 0});
  CHECK(h.lines == strings{"Private messaging with yoda ended", "leia logged out",
                           "Private messaging with leia ended"});
  CHECK(h.chats == std::vector<chat_action>{close_chat{"yoda", false}, close_chat{"leia", false}});
  // The connection's close that follows says nothing more.
  h.chat_closed("leia");
  CHECK(h.lines.size() == 3);
}

TEST_CASE("peer private: a handshake message inside a chat ends it") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  h.forget();
  SUBCASE("p2p_accept") { h.chat_message("yoda", proto::p2p_accept{}); }
  SUBCASE("p2p_ready") { h.chat_message("yoda", proto::p2p_ready{}); }
  CHECK(h.lines == strings{"Private messaging with yoda ended"});
}

TEST_CASE("peer private: chat lines pass a pending reply, other lines keep their place") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  h.forget();
  h.type("whoelse");
  h.type("private yoda one");
  h.type("stopprivate e2e-marker");  // no such chat: answered in order
  h.type("private yoda two");
  CHECK(h.chats == std::vector<chat_action>{send_on_chat{"yoda", proto::p2p_text{"one"}},
                                            send_on_chat{"yoda", proto::p2p_text{"two"}}});
  CHECK(h.lines.empty());
  h.reply(proto::outcome::no_other_users_online);
  CHECK(h.lines ==
        strings{"No other users online", "Error. Private messaging to e2e-marker not enabled"});
}

TEST_CASE("peer private: at most max_open_chats chats") {
  harness h;
  h.log_in();
  for (std::size_t i = 0; i < max_open_chats; ++i) open_chat_to(h, "user" + std::to_string(i));
  h.forget();
  h.type("startprivate luke");
  CHECK(h.lines == strings{"Error. Too many private chats"});
  CHECK(h.sent.empty());
  h.receive(proto::private_offer{"yoda"});
  h.type("y");
  CHECK(h.lines.back() == "Error. Too many private chats");
  CHECK(h.sent == msgs{proto::private_answer{"yoda", 0}});
  h.receive(proto::private_expect_keyed{"yoda", token_b, "10.0.0.9", yoda_key});
  CHECK(h.open(yoda_key).verdict == open_verdict::unknown);
}

// ---------------------------------------------------------------- without the registry

TEST_CASE("peer private: chats outlive the registry, the last one ends the peer") {
  harness h;
  h.log_in();
  open_chat_from(h, "yoda", token_a);
  h.receive(proto::private_offer{"leia"});
  h.type("message leia hi");  // answers nothing: it is not y or n
  h.type("n");
  h.type("message leia hi");  // waits for a reply that will not come
  h.forget();
  h.disconnect();
  CHECK(h.lines == strings{"Error. Lost connection to the registry",
                           "Error. Not confirmed by the registry: message leia hi",
                           "Private chats go on; other commands need the registry"});
  CHECK_FALSE(h.exit_code);
  CHECK(h.core.registry_lost());
  CHECK(h.last_prompt() == "> ");
  h.forget();
  h.type("whoelse");
  h.type("startprivate luke");
  h.type("private yoda still here");
  CHECK(h.lines ==
        strings{"Error. Not connected to the registry", "Error. Not connected to the registry"});
  CHECK(h.sent.empty());  // no activity to report to nobody
  CHECK(h.chats.size() == 1);
  h.chat_message("yoda", proto::p2p_text{"me too"});
  CHECK_FALSE(h.exit_code);
  h.chat_closed("yoda");
  CHECK(h.lines.back() == "Private messaging with yoda ended");
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer private: without the registry, logout and end of input end the peer") {
  harness h;
  h.log_in();
  open_chat_to(h, "luke");
  h.disconnect();
  SUBCASE("logout") { h.type("logout"); }
  SUBCASE("end of input") { h.end_of_input(); }
  SUBCASE("stopping the last chat") { h.type("stopprivate luke"); }
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer private: without a chat, a lost registry ends the peer at once") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  h.reply(proto::outcome::private_requested, "luke");
  h.receive(proto::private_granted_keyed{"luke", "127.0.0.1", 40000, token_a, luke_key});
  h.dialed("luke", false);
  h.forget();
  h.disconnect();
  CHECK(h.lines == strings{"Error. Lost connection to the registry"});
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer private: a dial in flight keeps the peer until it ends") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  h.reply(proto::outcome::private_requested, "luke");
  h.receive(proto::private_granted_keyed{"luke", "127.0.0.1", 40000, token_a, luke_key});
  h.disconnect();
  CHECK_FALSE(h.exit_code);
  h.dialed("luke", false);
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer private: a refused startprivate's key pair is not sent again") {
  harness h;
  h.log_in();
  h.type("startprivate luke");
  const auto first = sent_key(h);
  h.reply(proto::outcome::user_offline, "luke");
  h.type("startprivate luke");
  CHECK(sent_key(h) != first);
}

TEST_CASE("peer private: a key already expected is not expected twice") {
  harness h;
  h.log_in();
  h.expect_chat("yoda", token_a, yoda_key);
  // Someone who saw yoda's key gets the registry to relay it for another chat: the first keeps it.
  h.expect_chat("leia", token_b, yoda_key);
  const auto judgement = h.open(yoda_key);
  REQUIRE(judgement.verdict == open_verdict::answer);
  CHECK(judgement.expected.requester == "yoda");
  CHECK(judgement.expected.token == token_a);
  CHECK_FALSE(h.proven("leia", yoda_key));
  CHECK(h.proven("yoda", yoda_key));
}
