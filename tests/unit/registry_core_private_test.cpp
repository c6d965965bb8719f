// Registry core, SPEC 8: private chats. The registry's part is the consent dialogue: the port
// each peer announces, the queue of requests waiting for a y/n, the declines, and the grant
// (a fresh token to both sides, and the address the registry saw the target connect from).
#include "tests/unit/registry_core_harness.hpp"

#include "shared/proto/text.hpp"

#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::end_reason;
using proto::outcome;

constexpr std::uint16_t luke_port = 40001;
// Where luke's connection came from, as the shell reports it (a documentation address).
const std::string luke_address = "192.0.2.17";

// user01, user02, ...
std::string extra_user(int i) { return "user" + std::to_string(100 + i).substr(1); }

// yoda, luke, leia and han, all with the password "pw", plus `extra` more named user01...
harness private_accounts(core_config config = harness::test_config(), int extra = 0) {
  harness h(config);
  for (const char* name : {"yoda", "luke", "leia", "han"}) h.seed_account(name, "pw");
  for (int i = 1; i <= extra; ++i) h.seed_account(extra_user(i), "pw");
  return h;
}

// Logs `name` in and announces `port` (a peer announces it before logging in; the order does
// not matter to the core).
session_id listening(harness& h, const std::string& name, std::uint16_t port,
                     const std::string& address = "127.0.0.1") {
  const session_id id = h.login_as(name, "pw", false, address);
  h.send(id, proto::private_listen{port});
  return id;
}

const proto::private_expect_from* as_expect(const proto::server_message& m) {
  return std::get_if<proto::private_expect_from>(&m);
}
const proto::private_granted* as_granted(const proto::server_message& m) {
  return std::get_if<proto::private_granted>(&m);
}
const proto::private_expect_keyed* as_keyed_expect(const proto::server_message& m) {
  return std::get_if<proto::private_expect_keyed>(&m);
}
const proto::private_granted_keyed* as_keyed_grant(const proto::server_message& m) {
  return std::get_if<proto::private_granted_keyed>(&m);
}

// A chat key filled with one byte, told apart by it.
proto::chat_public_key key_of(std::uint8_t fill) {
  proto::chat_public_key key;
  key.fill(fill);
  return key;
}

// Two users online with luke listening: the usual start.
struct yoda_and_luke {
  harness h;
  session_id luke;
  session_id yoda;
  explicit yoda_and_luke(core_config config = harness::test_config(), int extra = 0)
      : h(private_accounts(config, extra)) {
    luke = listening(h, "luke", luke_port, luke_address);
    yoda = listening(h, "yoda", 40002);
    h.clear_inboxes();
  }
};

// ------------------------------------------------------------------ protocol

TEST_CASE("registry core: private requests and answers before the welcome are protocol errors") {
  const std::vector<proto::client_message> early{
      proto::private_request{"luke"}, proto::private_answer{"luke", 1},
      proto::private_invite{"luke", {}}, proto::private_consent{"luke", {}}};
  harness h = private_accounts();
  for (const auto& message : early) {
    CAPTURE(message.index());
    // Before the hello.
    const auto fresh = h.open();
    h.send(fresh, message);
    CHECK(h.take(fresh) == messages{ended(end_reason::protocol_error)});
    CHECK(h.end_of(fresh) == end_cause::protocol_error);
    // While logging in: the name given, the password not yet.
    const auto half = h.hello();
    h.send(half, proto::login_name{"luke"});
    h.take(half);
    h.send(half, message);
    CHECK(h.take(half) == messages{ended(end_reason::protocol_error)});
    CHECK(h.end_of(half) == end_cause::protocol_error);
  }
  CHECK(h.registry().online_users() == 0);
}

TEST_CASE("registry core: the port may be announced from the hello on, not before") {
  harness h = private_accounts();
  const auto fresh = h.open();
  h.send(fresh, proto::private_listen{luke_port});
  CHECK(h.take(fresh) == messages{ended(end_reason::protocol_error)});
  CHECK(h.end_of(fresh) == end_cause::protocol_error);

  // Announced before the name: no reply, and the login goes on.
  const auto luke = h.hello();
  h.send(luke, proto::private_listen{luke_port});
  CHECK(h.take(luke).empty());
  h.send(luke, proto::login_name{"luke"});
  CHECK(h.take(luke) == messages{proto::login_reply{proto::login_result::ask_password}});
}

TEST_CASE("registry core: the token source is required") {
  harness h = private_accounts();
  core_config config = harness::test_config();
  config.new_token = nullptr;
  CHECK_THROWS_AS(core(config, h.store().load()), std::invalid_argument);
}

// ------------------------------------------------------------------ SPEC 8.1 errors

TEST_CASE("registry core: startprivate errors, each answered at once and nobody asked") {
  yoda_and_luke t;
  harness& h = t.h;

  SUBCASE("no such account") {
    h.send(t.yoda, proto::private_request{"vader"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::invalid_user, "vader")});
  }
  SUBCASE("self") {
    h.send(t.yoda, proto::private_request{"yoda"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::cannot_private_self)});
  }
  SUBCASE("offline") {
    h.send(t.yoda, proto::private_request{"leia"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::user_offline, "leia")});
  }
  SUBCASE("the target has blocked the requester") {
    h.send(t.luke, proto::block_user{"yoda"});
    h.take(t.luke);
    h.send(t.yoda, proto::private_request{"luke"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::private_blocked, "luke")});
  }
  SUBCASE("the target announced no port") {
    const auto leia = h.login_as("leia", "pw");
    h.clear_inboxes();
    h.send(t.yoda, proto::private_request{"leia"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::private_unavailable, "leia")});
    CHECK(h.take(leia).empty());
  }
  SUBCASE("a request already waiting") {
    h.send(t.yoda, proto::private_request{"luke"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::private_requested)});
    CHECK(h.take(t.luke) == messages{offer("yoda")});
    h.send(t.yoda, proto::private_request{"luke"});
    CHECK(h.take(t.yoda) == messages{reply(outcome::private_pending, "luke")});
  }
  // Whatever the error, the target hears nothing of it, and nobody else does either.
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda).empty());
}

TEST_CASE("registry core: a target who blocked the requester is not asked") {
  yoda_and_luke t;
  harness& h = t.h;
  h.send(t.luke, proto::block_user{"yoda"});
  h.clear_inboxes();
  h.send(t.yoda, proto::private_request{"luke"});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_blocked, "luke")});
  CHECK(h.take(t.luke).empty());
  // Nor is the request remembered: luke's answer finds nothing.
  h.send(t.luke, proto::private_answer{"yoda", 1});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda).empty());
}

TEST_CASE("registry core: startprivate checks run in the order of SPEC 8.1") {
  harness h = private_accounts();

  SUBCASE("self comes before a missing port") {
    const auto yoda = h.login_as("yoda", "pw");
    h.send(yoda, proto::private_request{"yoda"});
    CHECK(h.take(yoda) == messages{reply(outcome::cannot_private_self)});
  }
  SUBCASE("offline comes before blocked") {
    const auto luke = listening(h, "luke", luke_port);
    h.send(luke, proto::block_user{"yoda"});
    h.send(luke, proto::logout_request{});
    const auto yoda = h.login_as("yoda", "pw");
    h.send(yoda, proto::private_request{"luke"});
    CHECK(h.take(yoda) == messages{reply(outcome::user_offline, "luke")});
  }
  SUBCASE("blocked comes before a missing port") {
    const auto luke = h.login_as("luke", "pw");
    h.send(luke, proto::block_user{"yoda"});
    const auto yoda = h.login_as("yoda", "pw");
    h.send(yoda, proto::private_request{"luke"});
    CHECK(h.take(yoda) == messages{reply(outcome::private_blocked, "luke")});
  }
}

TEST_CASE("registry core: pending comes before busy") {
  core_config config = harness::test_config();
  config.max_private_offers = 2;
  yoda_and_luke t(config);
  harness& h = t.h;
  const auto leia = h.login_as("leia", "pw");
  h.send(t.yoda, proto::private_request{"luke"});
  h.send(leia, proto::private_request{"luke"});
  h.clear_inboxes();
  // luke's queue is full, and yoda is in it.
  h.send(t.yoda, proto::private_request{"luke"});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_pending, "luke")});
  const auto han = h.login_as("han", "pw");
  h.send(han, proto::private_request{"luke"});
  CHECK(h.take(han) == messages{reply(outcome::private_busy, "luke")});
}

// ------------------------------------------------------------------ the queue and the answer

TEST_CASE("registry core: requests queue, and n declines only the one answered") {
  yoda_and_luke t;
  harness& h = t.h;
  const auto leia = h.login_as("leia", "pw");
  const auto han = h.login_as("han", "pw");
  h.clear_inboxes();

  for (const auto requester : {t.yoda, leia, han}) {
    h.send(requester, proto::private_request{"luke"});
    CHECK(h.take(requester) == messages{reply(outcome::private_requested)});
  }
  CHECK(h.take(t.luke) == messages{offer("yoda"), offer("leia"), offer("han")});

  h.send(t.luke, proto::private_answer{"yoda", 0});
  CHECK(h.take(t.luke).empty());  // an answer gets no reply
  CHECK(h.take(t.yoda) == messages{declined("luke")});
  CHECK(h.take(leia).empty());
  CHECK(h.take(han).empty());

  // Answered is answered: a second answer finds nothing, and yoda may ask again.
  h.send(t.luke, proto::private_answer{"yoda", 1});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda).empty());
  h.send(t.yoda, proto::private_request{"luke"});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_requested)});
  CHECK(h.take(t.luke) == messages{offer("yoda")});

  // The others still wait, whatever order luke answers in.
  h.send(t.luke, proto::private_answer{"han", 0});
  CHECK(h.take(han) == messages{declined("luke")});
  h.send(t.luke, proto::private_answer{"leia", 0});
  CHECK(h.take(leia) == messages{declined("luke")});
}

TEST_CASE("registry core: y sends the target its expectation first, then the requester its grant") {
  yoda_and_luke t;
  harness& h = t.h;
  h.send(t.yoda, proto::private_request{"luke"});
  h.clear_inboxes();

  h.send(t.luke, proto::private_answer{"yoda", 1});
  REQUIRE(h.last.sends.size() == 2);
  CHECK(h.last.sends[0].to == t.luke);
  CHECK(h.last.sends[1].to == t.yoda);
  CHECK(h.last.ends.empty());

  const auto to_luke = h.take(t.luke);
  const auto to_yoda = h.take(t.yoda);
  REQUIRE(to_luke.size() == 1);
  REQUIRE(to_yoda.size() == 1);
  const auto* expect = as_expect(to_luke[0]);
  const auto* granted = as_granted(to_yoda[0]);
  REQUIRE(expect);
  REQUIRE(granted);
  CHECK(expect->peer.value == "yoda");
  // Where the registry saw yoda connect from: luke's listener keeps room for it (SPEC 8.8).
  CHECK(expect->address.value == "127.0.0.1");
  CHECK(granted->peer.value == "luke");
  // Where the registry saw luke connect from, and the port luke announced.
  CHECK(granted->address.value == luke_address);
  CHECK(granted->port == luke_port);
  // One token, the same on both sides, in the wire's form.
  CHECK(proto::is_valid_token(expect->token.value));
  CHECK(expect->token == granted->token);

  // The grant used the offer up.
  h.send(t.luke, proto::private_answer{"yoda", 1});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda).empty());
}

// SPEC 10: each side's chat key reaches the other side only, with the token.
TEST_CASE("registry core: an invite consented to with a key hands each side the other's key") {
  yoda_and_luke t;
  harness& h = t.h;
  const auto leia = listening(h, "leia", 40003);
  h.clear_inboxes();
  h.send(t.yoda, proto::private_invite{"luke", key_of(0xa1)});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_requested)});
  // The offer says who asks; the key waits with the registry for the answer.
  CHECK(h.take(t.luke) == messages{offer("yoda")});

  h.send(t.luke, proto::private_consent{"yoda", key_of(0xb2)});
  REQUIRE(h.last.sends.size() == 2);
  CHECK(h.last.sends[0].to == t.luke);
  CHECK(h.last.sends[1].to == t.yoda);
  const auto to_luke = h.take(t.luke);
  const auto to_yoda = h.take(t.yoda);
  REQUIRE(to_luke.size() == 1);
  REQUIRE(to_yoda.size() == 1);
  const auto* expect = as_keyed_expect(to_luke[0]);
  const auto* granted = as_keyed_grant(to_yoda[0]);
  REQUIRE(expect);
  REQUIRE(granted);
  CHECK(expect->peer.value == "yoda");
  CHECK(expect->address.value == "127.0.0.1");
  CHECK(expect->peer_key == key_of(0xa1));
  CHECK(granted->peer.value == "luke");
  CHECK(granted->address.value == luke_address);
  CHECK(granted->port == luke_port);
  CHECK(granted->peer_key == key_of(0xb2));
  CHECK(proto::is_valid_token(expect->token.value));
  CHECK(expect->token == granted->token);
  // Nobody else hears of it.
  CHECK(h.take(leia).empty());

  // The consent used the offer up: another finds nothing.
  h.send(t.luke, proto::private_consent{"yoda", key_of(0xb3)});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda).empty());
}

TEST_CASE("registry core: a declined invite carries no key, a keyless side gets no key") {
  yoda_and_luke t;
  harness& h = t.h;
  // A no: the requester is told so, and nothing else.
  h.send(t.yoda, proto::private_invite{"luke", key_of(0xa1)});
  h.send(t.luke, proto::private_answer{"yoda", 0});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_requested), declined("luke")});
  CHECK(h.take(t.luke) == messages{offer("yoda")});

  // An invite answered by a plain yes: the unkeyed expectation and grant, no key either way.
  h.send(t.yoda, proto::private_invite{"luke", key_of(0xa1)});
  h.clear_inboxes();
  h.send(t.luke, proto::private_answer{"yoda", 1});
  auto to_luke = h.take(t.luke);
  auto to_yoda = h.take(t.yoda);
  REQUIRE(to_luke.size() == 1);
  REQUIRE(to_yoda.size() == 1);
  CHECK(as_expect(to_luke[0]));
  CHECK(as_granted(to_yoda[0]));

  // A plain request consented to with a key: no key either way (one is of no use alone).
  h.send(t.yoda, proto::private_request{"luke"});
  h.clear_inboxes();
  h.send(t.luke, proto::private_consent{"yoda", key_of(0xb2)});
  to_luke = h.take(t.luke);
  to_yoda = h.take(t.yoda);
  REQUIRE(to_luke.size() == 1);
  REQUIRE(to_yoda.size() == 1);
  CHECK(as_expect(to_luke[0]));
  CHECK(as_granted(to_yoda[0]));
}

TEST_CASE("registry core: an invite is refused as a request is, and its key is not kept") {
  yoda_and_luke t;
  harness& h = t.h;
  h.send(t.yoda, proto::private_invite{"vader", key_of(1)});
  CHECK(h.take(t.yoda) == messages{reply(outcome::invalid_user, "vader")});
  h.send(t.yoda, proto::private_invite{"yoda", key_of(1)});
  CHECK(h.take(t.yoda) == messages{reply(outcome::cannot_private_self)});
  h.send(t.yoda, proto::private_invite{"luke", key_of(1)});
  h.send(t.yoda, proto::private_invite{"luke", key_of(2)});
  CHECK(h.take(t.yoda) ==
        messages{reply(outcome::private_requested), reply(outcome::private_pending, "luke")});
  // The first invite's key is the one luke's consent pairs with.
  h.clear_inboxes();
  h.send(t.luke, proto::private_consent{"yoda", key_of(3)});
  const auto to_luke = h.take(t.luke);
  REQUIRE(to_luke.size() == 1);
  REQUIRE(as_keyed_expect(to_luke[0]));
  CHECK(as_keyed_expect(to_luke[0])->peer_key == key_of(1));
  // A consent to nobody waiting changes nothing.
  h.send(t.luke, proto::private_consent{"leia", key_of(3)});
  CHECK(h.take(t.luke).empty());
}

TEST_CASE("registry core: the grant carries the address the registry saw, per session") {
  harness h = private_accounts();
  // Both peers say nothing of where they are; the registry knows each connection's address.
  const auto luke = listening(h, "luke", luke_port, "2001:db8::7");
  const auto yoda = listening(h, "yoda", 40002, "198.51.100.3");
  h.clear_inboxes();

  h.send(yoda, proto::private_request{"luke"});
  h.send(luke, proto::private_answer{"yoda", 1});
  auto to_yoda = h.take(yoda);
  REQUIRE(to_yoda.size() == 2);
  REQUIRE(as_granted(to_yoda[1]));
  CHECK(as_granted(to_yoda[1])->address.value == "2001:db8::7");
  // luke is told where yoda's own connection came from.
  auto offer_and_expect = h.take(luke);
  REQUIRE(offer_and_expect.size() == 2);
  REQUIRE(as_expect(offer_and_expect[1]));
  CHECK(as_expect(offer_and_expect[1])->address.value == "198.51.100.3");

  // And the other way round.
  h.clear_inboxes();
  h.send(luke, proto::private_request{"yoda"});
  h.send(yoda, proto::private_answer{"luke", 1});
  auto to_luke = h.take(luke);
  REQUIRE(to_luke.size() == 2);
  REQUIRE(as_granted(to_luke[1]));
  CHECK(as_granted(to_luke[1])->address.value == "198.51.100.3");
  CHECK(as_granted(to_luke[1])->port == 40002);
}

TEST_CASE("registry core: the latest port announcement wins") {
  yoda_and_luke t;
  harness& h = t.h;
  h.send(t.luke, proto::private_listen{50123});
  CHECK(h.take(t.luke).empty());  // no reply to an announcement
  h.send(t.yoda, proto::private_request{"luke"});
  h.send(t.luke, proto::private_answer{"yoda", 1});
  const auto to_yoda = h.take(t.yoda);
  REQUIRE(to_yoda.size() == 2);
  REQUIRE(as_granted(to_yoda[1]));
  CHECK(as_granted(to_yoda[1])->port == 50123);
}

TEST_CASE("registry core: every grant has a fresh token") {
  yoda_and_luke t;
  harness& h = t.h;
  std::set<std::string> tokens;
  constexpr int grants = 20;
  for (int i = 0; i < grants; ++i) {
    h.send(t.yoda, proto::private_request{"luke"});
    h.send(t.luke, proto::private_answer{"yoda", 1});
    const auto to_yoda = h.take(t.yoda);
    REQUIRE(to_yoda.size() == 2);
    REQUIRE(as_granted(to_yoda[1]));
    tokens.insert(as_granted(to_yoda[1])->token.value);
    h.clear_inboxes();
  }
  CHECK(tokens.size() == grants);
}

TEST_CASE("registry core: an answer for nobody waiting is ignored") {
  yoda_and_luke t;
  harness& h = t.h;
  const auto leia = h.login_as("leia", "pw");
  h.send(t.yoda, proto::private_request{"luke"});
  h.clear_inboxes();

  // leia is online but never asked; vader is no account at all; yoda asked luke, not leia.
  h.send(t.luke, proto::private_answer{"leia", 1});
  h.send(t.luke, proto::private_answer{"vader", 0});
  h.send(leia, proto::private_answer{"yoda", 1});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(leia).empty());
  CHECK(h.take(t.yoda).empty());
  CHECK(h.ends.empty());

  // yoda's own request is untouched.
  h.send(t.luke, proto::private_answer{"yoda", 0});
  CHECK(h.take(t.yoda) == messages{declined("luke")});
}

TEST_CASE("registry core: at most max_private_offers requests wait for one user") {
  constexpr int max_offers = 16;
  core_config config = harness::test_config();
  CHECK(config.max_private_offers == max_offers);
  yoda_and_luke t(config, max_offers + 1);
  harness& h = t.h;
  std::vector<session_id> requesters;
  for (int i = 1; i <= max_offers + 1; ++i) requesters.push_back(h.login_as(extra_user(i), "pw"));
  h.clear_inboxes();

  for (int i = 0; i < max_offers; ++i) {
    h.send(requesters[i], proto::private_request{"luke"});
    CHECK(h.take(requesters[i]) == messages{reply(outcome::private_requested)});
  }
  CHECK(h.take(t.luke).size() == max_offers);

  const session_id late = requesters.back();
  h.send(late, proto::private_request{"luke"});
  CHECK(h.take(late) == messages{reply(outcome::private_busy, "luke")});
  CHECK(h.take(t.luke).empty());

  // One answered (or one requester gone) makes room for one more.
  h.send(t.luke, proto::private_answer{extra_user(1), 0});
  h.send(late, proto::private_request{"luke"});
  CHECK(h.take(late) == messages{reply(outcome::private_requested)});
  h.send(requesters[1], proto::logout_request{});
  h.clear_inboxes();
  h.send(t.yoda, proto::private_request{"luke"});
  CHECK(h.take(t.yoda) == messages{reply(outcome::private_requested)});
  h.send(requesters[2], proto::private_request{"luke"});
  CHECK(h.take(requesters[2]) == messages{reply(outcome::private_pending, "luke")});

  // The bound is per target: others have room of their own.
  const auto leia = listening(h, "leia", 40003);
  h.clear_inboxes();
  h.send(late, proto::private_request{"leia"});
  CHECK(h.take(late) == messages{reply(outcome::private_requested)});
  CHECK(h.take(leia) == messages{offer(extra_user(max_offers + 1))});
}

// ------------------------------------------------------------------ leaving

TEST_CASE("registry core: every waiting requester is declined when the target goes") {
  yoda_and_luke t;
  harness& h = t.h;
  // Everyone but luke is active later than luke, so that luke's idle timeout comes first.
  h.advance(100s);
  const auto leia = h.login_as("leia", "pw");
  const auto han = h.login_as("han", "pw");
  h.send(t.yoda, proto::private_request{"luke"});
  h.send(leia, proto::private_request{"luke"});
  h.clear_inboxes();

  SUBCASE("logout") {
    h.send(t.luke, proto::logout_request{});
    CHECK(h.end_of(t.luke) == end_cause::logged_out);
  }
  SUBCASE("inactivity") {
    h.advance(500s);
    h.tick();
    CHECK(h.end_of(t.luke) == end_cause::inactivity);
    CHECK_FALSE(h.end_of(t.yoda));
  }
  SUBCASE("lost connection") { h.disconnect(t.luke); }
  SUBCASE("protocol error") {
    h.send(t.luke, proto::client_hello{});
    CHECK(h.end_of(t.luke) == end_cause::protocol_error);
  }
  // The decline comes before the presence, so the requester hears the answer to its question.
  CHECK(h.take(t.yoda) == messages{declined("luke"), presence("luke", false)});
  CHECK(h.take(leia) == messages{declined("luke"), presence("luke", false)});
  CHECK(h.take(han) == messages{presence("luke", false)});
}

TEST_CASE("registry core: a target who blocked a waiting requester still declines it on leaving") {
  yoda_and_luke t;
  harness& h = t.h;
  h.send(t.yoda, proto::private_request{"luke"});
  // Blocked after the request: yoda no longer sees luke's presence, but its question is answered.
  h.send(t.luke, proto::block_user{"yoda"});
  h.clear_inboxes();
  h.send(t.luke, proto::logout_request{});
  CHECK(h.take(t.yoda) == messages{declined("luke")});
}

TEST_CASE("registry core: at shutdown every waiting requester is declined before its end") {
  harness h = private_accounts();
  // yoda has the lowest session id: its session ends before luke's.
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = listening(h, "luke", luke_port);
  const auto leia = listening(h, "leia", 40003);
  h.send(yoda, proto::private_request{"luke"});
  h.send(yoda, proto::private_request{"leia"});
  h.send(luke, proto::private_request{"leia"});
  h.clear_inboxes();

  h.shutdown();
  CHECK(h.take(yoda) == messages{declined("luke"), declined("leia"), ended(end_reason::shutdown)});
  CHECK(h.take(luke) == messages{declined("leia"), ended(end_reason::shutdown)});
  CHECK(h.take(leia) == messages{ended(end_reason::shutdown)});
}

TEST_CASE("registry core: a requester who leaves withdraws its requests, a later answer is moot") {
  yoda_and_luke t;
  harness& h = t.h;
  const auto leia = listening(h, "leia", 40003);
  h.send(t.yoda, proto::private_request{"luke"});
  h.send(t.yoda, proto::private_request{"leia"});
  h.clear_inboxes();

  SUBCASE("logout") { h.send(t.yoda, proto::logout_request{}); }
  SUBCASE("lost connection") { h.disconnect(t.yoda); }
  SUBCASE("inactivity") {
    // luke and leia stay busy; yoda falls silent.
    h.advance(300s);
    h.send(t.luke, proto::activity{});
    h.send(leia, proto::activity{});
    h.advance(300s);
    h.tick();
    CHECK(h.end_of(t.yoda) == end_cause::inactivity);
  }
  CHECK(h.take(t.luke) == messages{presence("yoda", false)});
  h.clear_inboxes();

  // luke says yes to a question nobody is waiting for: no token goes anywhere.
  h.send(t.luke, proto::private_answer{"yoda", 1});
  CHECK(h.last.sends.empty());

  // A new yoda session starts afresh: the old request does not block a new one, nor does the
  // old offer count as its.
  const auto yoda = h.login_as("yoda", "pw");
  h.clear_inboxes();
  h.send(leia, proto::private_answer{"yoda", 1});
  CHECK(h.last.sends.empty());
  h.send(yoda, proto::private_request{"luke"});
  CHECK(h.take(yoda) == messages{reply(outcome::private_requested)});
  CHECK(h.take(t.luke) == messages{offer("yoda")});
}

// ------------------------------------------------------------------ activity and tokens

TEST_CASE(
    "registry core: private requests and answers are activity; the port announcement is not") {
  yoda_and_luke t;
  harness& h = t.h;

  h.advance(599s);
  h.send(t.yoda, proto::private_request{"luke"});
  h.send(t.luke, proto::private_answer{"yoda", 0});
  h.advance(599s);
  h.tick();
  CHECK_FALSE(h.end_of(t.yoda));
  CHECK_FALSE(h.end_of(t.luke));

  h.send(t.yoda, proto::activity{});
  h.send(t.luke, proto::private_listen{50000});
  h.advance(1s);
  h.tick();
  CHECK(h.end_of(t.luke) == end_cause::inactivity);
  CHECK_FALSE(h.end_of(t.yoda));
}

TEST_CASE("registry core: a token that would not validate costs the chat, not the sessions") {
  core_config config = harness::test_config();
  config.new_token = [] { return std::string("not a token"); };
  yoda_and_luke t(config);
  harness& h = t.h;
  h.send(t.yoda, proto::private_request{"luke"});
  h.clear_inboxes();
  h.send(t.luke, proto::private_answer{"yoda", 1});
  CHECK(h.take(t.luke).empty());
  CHECK(h.take(t.yoda) == messages{declined("luke")});
  CHECK(h.ends.empty());
}

TEST_CASE("registry core: so does an address that is not one") {
  harness h = private_accounts();
  const auto luke = listening(h, "luke", luke_port, "not an address");
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::private_request{"luke"});
  h.clear_inboxes();
  h.send(luke, proto::private_answer{"yoda", 1});
  CHECK(h.take(luke).empty());
  CHECK(h.take(yoda) == messages{declined("luke")});
}

TEST_CASE("auth: random tokens are 128 bits of lowercase hex, never repeated") {
  REQUIRE(auth::initialize());
  constexpr int samples = 10'000;
  std::set<std::string> seen;
  for (int i = 0; i < samples; ++i) {
    const std::string token = auth::random_token();
    if (!proto::is_valid_token(token)) FAIL("not a token: " << token);
    seen.insert(token);
  }
  CHECK(seen.size() == samples);
  CHECK(auth::token_random_bytes * 2 == proto::private_token_chars);
  // Every hex digit turns up: the bytes are spread, not stuck.
  std::set<char> digits;
  for (const auto& token : seen) digits.insert(token.begin(), token.end());
  CHECK(digits.size() == 16);
}

}  // namespace
}  // namespace parley::registry::testing
