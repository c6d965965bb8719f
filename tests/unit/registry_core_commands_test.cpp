// Registry core, SPEC 3.5, 4 and 7: offline messages, commands, blocks and presence.
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::delivery_kind;
using proto::login_result;
using proto::outcome;
using proto::user_query;

// yoda, luke, leia and han, all with the password "pw".
harness four_accounts(core_config config = harness::test_config()) {
  harness h(config);
  for (const char* name : {"yoda", "luke", "leia", "han"}) h.seed_account(name, "pw");
  return h;
}

TEST_CASE("registry core: offline messages arrive after the welcome, oldest first, once") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::direct_message{"luke", "first"});
  h.send(yoda, proto::direct_message{"luke", "second"});
  CHECK(h.take(yoda) == messages{reply(outcome::message_stored), reply(outcome::message_stored)});
  const auto leia = h.login_as("leia", "pw");
  h.send(leia, proto::direct_message{"luke", "third"});
  CHECK(h.take(leia) == messages{reply(outcome::message_stored)});
  h.clear_inboxes();

  const auto luke = h.login_as("luke", "pw", true);
  CHECK(h.take(luke) == messages{login(login_result::welcome), stored("yoda", "first"),
                                 stored("yoda", "second"), stored("leia", "third"), mailbox_end()});
  h.send(luke, proto::logout_request{});
  const auto again = h.login_as("luke", "pw", true);
  CHECK(h.take(again) == welcomed());
}

TEST_CASE("registry core: direct messages") {
  core_config config = harness::test_config();
  config.max_offline_per_recipient = 2;
  harness h = four_accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = h.login_as("luke", "pw");
  h.clear_inboxes();

  SUBCASE("to an online user: delivered at once, acknowledged to the sender") {
    h.send(yoda, proto::direct_message{"luke", "hello there"});
    CHECK(h.take(luke) == messages{delivery("yoda", "hello there", delivery_kind::direct)});
    CHECK(h.take(yoda) == messages{reply(outcome::message_delivered)});
  }
  SUBCASE("to a name that is no account") {
    h.send(yoda, proto::direct_message{"vader", "hi"});
    CHECK(h.take(yoda) == messages{reply(outcome::invalid_user, "vader")});
  }
  SUBCASE("to self") {
    h.send(yoda, proto::direct_message{"yoda", "hi"});
    CHECK(h.take(yoda) == messages{reply(outcome::cannot_message_self)});
  }
  SUBCASE("to a recipient who blocked the sender, online or not: nothing delivered or stored") {
    h.send(luke, proto::block_user{"yoda"});
    const auto leia = h.login_as("leia", "pw");
    h.send(leia, proto::block_user{"yoda"});
    h.send(leia, proto::logout_request{});
    h.clear_inboxes();
    h.send(yoda, proto::direct_message{"luke", "hi"});
    h.send(yoda, proto::direct_message{"leia", "hi"});
    CHECK(h.take(yoda) ==
          messages{reply(outcome::blocked_by_recipient), reply(outcome::blocked_by_recipient)});
    CHECK(h.take(luke).empty());
    CHECK(h.store().count_offline("leia") == 0);
  }
  SUBCASE("an offline mailbox has a bound") {
    h.send(yoda, proto::direct_message{"han", "1"});
    h.send(yoda, proto::direct_message{"han", "2"});
    h.send(yoda, proto::direct_message{"han", "3"});
    CHECK(h.take(yoda) == messages{reply(outcome::message_stored), reply(outcome::message_stored),
                                   reply(outcome::mailbox_full, "han")});
    CHECK(h.store().count_offline("han") == 2);
  }
}

TEST_CASE("registry core: block and unblock") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.clear_inboxes();

  h.send(yoda, proto::block_user{"vader"});
  h.send(yoda, proto::block_user{"yoda"});
  h.send(yoda, proto::block_user{"luke"});
  h.send(yoda, proto::block_user{"luke"});
  CHECK(h.take(yoda) == messages{reply(outcome::invalid_user, "vader"),
                                 reply(outcome::cannot_block_self), reply(outcome::blocked, "luke"),
                                 reply(outcome::already_blocked, "luke")});
  const auto blocks = h.store().load().blocks;
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].blocker == "yoda");
  CHECK(blocks[0].blocked == "luke");

  h.send(yoda, proto::unblock_user{"vader"});
  h.send(yoda, proto::unblock_user{"yoda"});
  h.send(yoda, proto::unblock_user{"leia"});
  h.send(yoda, proto::unblock_user{"luke"});
  h.send(yoda, proto::unblock_user{"luke"});
  CHECK(h.take(yoda) ==
        messages{reply(outcome::invalid_user, "vader"), reply(outcome::cannot_unblock_self),
                 reply(outcome::not_blocked, "leia"), reply(outcome::unblocked, "luke"),
                 reply(outcome::not_blocked, "luke")});
  CHECK(h.store().load().blocks.empty());

  // Blocking is one-way: luke blocked by yoda may not message yoda; yoda may message luke.
  h.send(yoda, proto::block_user{"luke"});
  const auto luke = h.login_as("luke", "pw");
  h.clear_inboxes();
  h.send(luke, proto::direct_message{"yoda", "hi"});
  CHECK(h.take(luke) == messages{reply(outcome::blocked_by_recipient)});
  h.send(yoda, proto::direct_message{"luke", "hi"});
  CHECK(h.take(yoda) == messages{reply(outcome::message_delivered)});
}

TEST_CASE("registry core: presence goes to everyone online except the user and those it blocks") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = h.login_as("luke", "pw");
  CHECK(h.take(yoda) == messages{presence("luke", true)});
  CHECK(h.take(luke).empty());

  // luke blocks yoda: yoda no longer sees luke come and go; luke still sees yoda.
  h.send(luke, proto::block_user{"yoda"});
  h.clear_inboxes();
  const auto leia = h.login_as("leia", "pw");
  CHECK(h.take(yoda) == messages{presence("leia", true)});
  CHECK(h.take(luke) == messages{presence("leia", true)});

  SUBCASE("logout") {
    h.send(luke, proto::logout_request{});
    CHECK(h.take(luke) == messages{ended(proto::end_reason::logged_out)});
    CHECK(h.end_of(luke) == end_cause::logged_out);
    // The harness disconnected luke after the end: announced once, not again.
    CHECK(h.take(yoda).empty());
    CHECK(h.take(leia) == messages{presence("luke", false)});
    CHECK(h.registry().online_users() == 2);
  }
  SUBCASE("lost connection") {
    h.disconnect(luke);
    CHECK(h.take(yoda).empty());
    CHECK(h.take(leia) == messages{presence("luke", false)});
    CHECK(h.registry().online_users() == 2);
  }
  SUBCASE("luke's block on yoda does not hide yoda's presence from luke") {
    h.send(yoda, proto::logout_request{});
    CHECK(h.take(luke) == messages{presence("yoda", false)});
    CHECK(h.take(leia) == messages{presence("yoda", false)});
    h.login_as("yoda", "pw");
    CHECK(h.take(luke) == messages{presence("yoda", true)});
  }
}

TEST_CASE("registry core: broadcast") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = h.login_as("luke", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.clear_inboxes();

  SUBCASE("to every other online user, one frame shared by all") {
    h.send(yoda, proto::broadcast_message{"may the force"});
    CHECK(h.take(luke) == messages{delivery("yoda", "may the force", delivery_kind::broadcast)});
    CHECK(h.take(leia) == messages{delivery("yoda", "may the force", delivery_kind::broadcast)});
    CHECK(h.take(yoda) == messages{reply(outcome::broadcast_sent)});
    REQUIRE(h.last.sends.size() == 3);
    CHECK(h.last.sends[0].frame == h.last.sends[1].frame);
    // Not stored for offline users.
    CHECK(h.store().count_offline("han") == 0);
  }
  SUBCASE("skipping those who blocked the sender, without naming them") {
    h.send(leia, proto::block_user{"yoda"});
    h.clear_inboxes();
    h.send(yoda, proto::broadcast_message{"may the force"});
    CHECK(h.take(luke) == messages{delivery("yoda", "may the force", delivery_kind::broadcast)});
    CHECK(h.take(leia).empty());
    CHECK(h.take(yoda) == messages{reply(outcome::broadcast_partial)});
  }
  SUBCASE("alone: sent to nobody, and that is not partial") {
    h.send(luke, proto::logout_request{});
    h.send(leia, proto::logout_request{});
    h.clear_inboxes();
    h.send(yoda, proto::broadcast_message{"anyone?"});
    CHECK(h.take(yoda) == messages{reply(outcome::broadcast_sent)});
  }
}

TEST_CASE("registry core: whoelse") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::who_else{});
  CHECK(h.take(yoda) == messages{reply(outcome::no_other_users_online)});

  const auto luke = h.login_as("luke", "pw");
  h.login_as("han", "pw");
  h.login_as("leia", "pw");
  h.clear_inboxes();
  h.send(yoda, proto::who_else{});
  CHECK(h.take(yoda) == messages{names(user_query::whoelse, {"han", "leia", "luke"})});

  // Those who block yoda are hidden from yoda; those yoda blocks are not.
  h.send(luke, proto::block_user{"yoda"});
  h.send(yoda, proto::block_user{"han"});
  h.clear_inboxes();
  h.send(yoda, proto::who_else{});
  CHECK(h.take(yoda) == messages{names(user_query::whoelse, {"han", "leia"})});
}

TEST_CASE("registry core: whoelsesince") {
  harness h = four_accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::who_else_since{1000});
  CHECK(h.take(yoda) == messages{reply(outcome::no_other_users)});

  const auto luke = h.login_as("luke", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.send(luke, proto::logout_request{});  // luke logs out at t0
  h.advance(100s);
  h.send(leia, proto::logout_request{});  // leia logs out at t0 + 100 s
  h.advance(50s);                         // now = t0 + 150 s
  const auto han = h.login_as("han", "pw");
  h.clear_inboxes();

  SUBCASE("online users count whatever the window") {
    h.send(yoda, proto::who_else_since{0});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han"})});
  }
  SUBCASE("a logout exactly at now - time is inside the window, a millisecond earlier is not") {
    h.send(yoda, proto::who_else_since{50});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han", "leia"})});
    h.advance(1ms);
    h.send(yoda, proto::who_else_since{50});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han"})});
  }
  SUBCASE("a long window, and the largest window the protocol can carry") {
    h.send(yoda, proto::who_else_since{150});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han", "leia", "luke"})});
    h.send(yoda, proto::who_else_since{std::numeric_limits<std::uint64_t>::max()});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han", "leia", "luke"})});
    h.send(yoda, proto::who_else_since{std::uint64_t{1} << 62});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han", "leia", "luke"})});
  }
  SUBCASE("those who currently block the issuer are hidden") {
    h.send(han, proto::block_user{"yoda"});
    h.clear_inboxes();
    h.send(yoda, proto::who_else_since{1000});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"leia", "luke"})});
    h.send(han, proto::unblock_user{"yoda"});
    h.clear_inboxes();
    h.send(yoda, proto::who_else_since{1000});
    CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, {"han", "leia", "luke"})});
  }
  SUBCASE("never logged in is never listed") {
    harness fresh = four_accounts();
    const auto alone = fresh.login_as("yoda", "pw");
    fresh.send(alone, proto::who_else_since{std::numeric_limits<std::uint64_t>::max()});
    CHECK(fresh.take(alone) == messages{reply(outcome::no_other_users)});
  }
}

TEST_CASE("registry core: user lists longer than one frame come in final-flagged chunks") {
  constexpr std::size_t others = proto::max_names_per_list + 76;
  harness h;
  h.seed_account("yoda", "pw");
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < others; ++i) {
    // Zero-padded, so name order is number order.
    std::string name = "user" + std::string(4 - std::to_string(i).size(), '0') + std::to_string(i);
    h.seed_account(name, "pw");
    expected.push_back(name);
  }
  for (const auto& name : expected) {
    h.login_as(name, "pw");
    // Each login tells everyone online; keep the inboxes small.
    h.clear_inboxes();
  }
  const auto yoda = h.login_as("yoda", "pw");
  h.clear_inboxes();

  const std::vector<std::string> first(expected.begin(),
                                       expected.begin() + proto::max_names_per_list);
  const std::vector<std::string> rest(expected.begin() + proto::max_names_per_list, expected.end());
  h.send(yoda, proto::who_else{});
  CHECK(h.take(yoda) ==
        messages{names(user_query::whoelse, first, false), names(user_query::whoelse, rest, true)});
  h.send(yoda, proto::who_else_since{10});
  CHECK(h.take(yoda) == messages{names(user_query::whoelsesince, first, false),
                                 names(user_query::whoelsesince, rest, true)});
}

}  // namespace
}  // namespace parley::registry::testing
