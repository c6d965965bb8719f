// SPEC 6, last paragraph: when the registry connection is lost, every command it had not yet
// answered is named, `Error. Not confirmed by the registry: <the command line>`, after the
// lost-connection line, oldest first. And SPEC 8.8 on the core's side: which addresses the
// listener must keep room for.
#include "peer/core/peer_core.hpp"
#include "tests/unit/peer_core_harness.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley;
using namespace parley::peer;
using namespace parley::peer::testing;

namespace {

const std::string lost = "Error. Lost connection to the registry";
const std::string token_a = "0123456789abcdef0123456789abcdef";
const std::string token_b = "fedcba9876543210fedcba9876543210";

std::string unconfirmed(const std::string& line) {
  return "Error. Not confirmed by the registry: " + line;
}

}  // namespace

TEST_CASE("peer core: a command in flight when the connection is lost is named after the loss") {
  harness h;
  h.log_in();
  h.type("message luke are you there?");
  REQUIRE(h.sent == msgs{proto::direct_message{"luke", "are you there?"}});
  h.disconnect();
  CHECK(h.lines == strings{lost, unconfirmed("message luke are you there?")});
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer core: the command sent and those typed behind it are named, in order") {
  harness h;
  h.log_in();
  h.type("message luke first");
  h.type("broadcast second");
  h.type("help");  // local: nothing to confirm
  h.type("whoelsesince 60");
  h.type("bogus");  // not a command
  h.type("block vader");
  REQUIRE(h.sent.size() == 1);
  h.disconnect();
  CHECK(h.lines == strings{lost, unconfirmed("message luke first"), unconfirmed("broadcast second"),
                           unconfirmed("whoelsesince 60"), unconfirmed("block vader")});
  CHECK(h.exit_code == exit_failure);
}

TEST_CASE("peer core: a command answered before the loss is not named") {
  harness h;
  h.log_in();
  SUBCASE("a command reply") {
    h.type("message luke hello");
    h.reply(proto::outcome::message_stored);
  }
  SUBCASE("a user list, ended by its final chunk") {
    h.type("whoelse");
    h.receive(names({"luke"}, false));
    h.receive(names({"leia"}, true));
  }
  SUBCASE("a user list answered by no other users") {
    h.type("whoelsesince 10");
    h.reply(proto::outcome::no_other_users);
  }
  SUBCASE("an error reply") {
    h.type("block yoda");
    h.reply(proto::outcome::cannot_block_self);
  }
  h.forget();
  h.disconnect();
  CHECK(h.lines == strings{lost});
}

TEST_CASE("peer core: deliveries, presence and a partial list are not answers") {
  harness h;
  h.log_in();
  h.type("whoelse");
  h.receive(proto::delivery{"leia", "hi", proto::delivery_kind::direct});
  h.receive(proto::presence{"han", 1});
  h.receive(names({"luke"}, false));  // not the final chunk
  h.receive(proto::private_offer{"leia"});
  h.forget();
  h.disconnect();
  CHECK(h.lines == strings{lost, unconfirmed("whoelse")});
}

TEST_CASE("peer core: the named line is escaped and has no carriage return") {
  harness h;
  h.log_in();
  h.type("broadcast tab\there\r");
  h.disconnect();
  REQUIRE(h.lines.size() == 2);
  CHECK(h.lines[1] == unconfirmed("broadcast tab\there"));

  harness escaped;
  escaped.log_in();
  // A body may hold control characters (the receiver shows them escaped); so does this line.
  escaped.type("message luke ring\x07\x1b[2J");
  REQUIRE(escaped.sent.size() == 1);
  escaped.disconnect();
  CHECK(escaped.lines.back() == unconfirmed("message luke ring\\x07\\e[2J"));
}

TEST_CASE("peer core: logout and local commands are never named") {
  harness h;
  h.log_in();
  SUBCASE("logout in flight: the close is its confirmation") {
    h.type("logout");
    h.disconnect();
    CHECK(h.lines.empty());
    CHECK(h.exit_code == exit_success);
  }
  SUBCASE("queued behind a command") {
    h.type("whoelse");
    h.type("help");
    h.type("private luke nobody is here");
    h.type("logout");
    h.forget();
    h.disconnect();
    CHECK(h.lines == strings{lost, unconfirmed("whoelse")});
  }
}

TEST_CASE("peer core: with a chat open, the unanswered commands are named before the chats hint") {
  harness h;
  h.log_in();
  const proto::chat_public_key leia_key{1};
  h.expect_chat("leia", token_a, leia_key);
  REQUIRE(h.open(leia_key).verdict == open_verdict::answer);
  REQUIRE(h.proven("leia", leia_key));
  h.type("message luke one");
  h.type("private leia passes the wait");
  h.type("block vader");
  h.forget();
  h.disconnect();
  CHECK(h.lines == strings{lost, unconfirmed("message luke one"), unconfirmed("block vader"),
                           "Private chats go on; other commands need the registry"});
  CHECK_FALSE(h.exit_code);
  // They are dropped, not tried again without the registry.
  h.forget();
  h.type("stopprivate leia");
  CHECK(h.lines == strings{"Private messaging with leia stopped"});
}

TEST_CASE("peer core: nothing is named for a loss during login") {
  harness h;
  h.connect();
  h.type("yoda");
  h.disconnect();
  CHECK(h.lines == strings{lost});
}

TEST_CASE("peer core: the listener keeps room for the address the registry named, while live") {
  harness h;
  h.log_in();
  const proto::chat_public_key leia_key{1};
  const proto::chat_public_key han_key{2};
  CHECK_FALSE(h.core.expects_private_from("127.0.0.1", h.now));
  h.expect_chat("leia", token_a, leia_key, "198.51.100.7");
  // An older registry's expectation names no key and no address: it keeps room for nobody.
  h.receive(proto::private_expect{"han", token_b});
  CHECK(h.core.expects_private_from("198.51.100.7", h.now));
  CHECK_FALSE(h.core.expects_private_from("198.51.100.8", h.now));
  CHECK_FALSE(h.core.expects_private_from("", h.now));

  SUBCASE("until the handshake is proven") {
    REQUIRE(h.open(leia_key).verdict == open_verdict::answer);
    CHECK(h.core.expects_private_from("198.51.100.7", h.now));
    REQUIRE(h.proven("leia", leia_key));
    CHECK_FALSE(h.core.expects_private_from("198.51.100.7", h.now));
  }
  SUBCASE("until the expectation expires") {
    h.now += token_lifetime - std::chrono::milliseconds(1);
    CHECK(h.core.expects_private_from("198.51.100.7", h.now));
    h.now += std::chrono::milliseconds(1);
    CHECK_FALSE(h.core.expects_private_from("198.51.100.7", h.now));
  }
  SUBCASE("the expectation still opens only the chat it was issued for") {
    CHECK(h.open(han_key).verdict == open_verdict::unknown);
    CHECK_FALSE(h.proven("han", leia_key));
    CHECK(h.core.expects_private_from("198.51.100.7", h.now));
    CHECK(h.open(leia_key).verdict == open_verdict::answer);
  }
}

TEST_CASE("peer core: before login no address is expected") {
  harness h;
  h.connect();
  h.receive(proto::private_expect_keyed{"leia", token_a, "198.51.100.7", {}});
  CHECK_FALSE(h.core.expects_private_from("198.51.100.7", h.now));
}
