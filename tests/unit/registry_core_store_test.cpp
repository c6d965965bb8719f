// Registry core, SPEC 6 and 9.1: durable writes as store jobs answered later, acknowledgements
// after the commit, replies in command order, exactly-once delivery of stored messages (ids,
// confirmations, pages), and the bounds on what waits for the store.
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::delivery_kind;
using proto::login_result;
using proto::outcome;
using proto::user_query;

harness accounts(core_config config = harness::test_config()) {
  harness h(config);
  for (const char* name : {"yoda", "luke", "leia", "han"}) h.seed_account(name, "pw");
  return h;
}

TEST_CASE("registry core store: a stored message is acknowledged only once committed") {
  harness h = accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.hold_writes = true;
  h.send(yoda, proto::direct_message{"luke", "one"});
  h.send(yoda, proto::direct_message{"luke", "two"});
  // Asked for, not answered: no acknowledgement yet, and nothing in the database.
  CHECK(h.take(yoda).empty());
  CHECK(h.held_writes.size() == 2);
  CHECK(h.store().count_offline("luke") == 0);
  // Answered one at a time, acknowledged one at a time.
  h.answer_writes(1);
  CHECK(h.store().count_offline("luke") == 1);
  CHECK(h.take(yoda) == messages{reply(outcome::message_stored)});
  h.answer_writes();
  CHECK(h.take(yoda) == messages{reply(outcome::message_stored)});
}

TEST_CASE("registry core store: a session's replies keep the order of its commands") {
  harness h = accounts();
  const auto yoda = h.login_as("yoda", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.clear_inboxes();
  h.hold_writes = true;
  h.send(yoda, proto::direct_message{"luke", "to an offline user"});
  // Answered at once by the core, but behind the acknowledgement it waits for.
  h.send(yoda, proto::direct_message{"leia", "to an online user"});
  h.send(yoda, proto::who_else{});
  CHECK(h.take(yoda).empty());
  // The online recipient is not held up: its delivery is not yoda's reply.
  CHECK(h.take(leia) == messages{delivery("yoda", "to an online user", delivery_kind::direct)});
  h.answer_writes();
  CHECK(h.take(yoda) == messages{reply(outcome::message_stored), reply(outcome::message_delivered),
                                 names(user_query::whoelse, {"leia"})});
}

TEST_CASE("registry core store: a block is in force at once and acknowledged once committed") {
  harness h = accounts();
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = h.login_as("luke", "pw");
  h.clear_inboxes();
  h.hold_writes = true;
  h.send(yoda, proto::block_user{"luke"});
  CHECK(h.take(yoda).empty());
  h.send(luke, proto::direct_message{"yoda", "hi"});
  CHECK(h.take(luke) == messages{reply(outcome::blocked_by_recipient)});
  h.answer_writes();
  CHECK(h.take(yoda) == messages{reply(outcome::blocked, "luke")});
  CHECK(h.store().load().blocks.size() == 1);
}

TEST_CASE("registry core store: a new account is welcomed only once committed") {
  harness h = accounts();
  h.hold_writes = true;
  const auto id = h.hello();
  h.send(id, proto::login_name{"hans"});
  CHECK(h.take(id) == messages{login(login_result::ask_new_password)});
  h.send(id, proto::login_password{"secret"});
  CHECK(h.take(id).empty());
  // Its name stays taken meanwhile.
  const auto other = h.hello("127.0.0.2");
  h.send(other, proto::login_name{"hans"});
  CHECK(h.take(other) == messages{login(login_result::already_logged_in)});
  h.answer_writes();
  CHECK(h.take(id) == welcomed());
}

TEST_CASE("registry core store: a counted wrong password is answered once committed") {
  harness h = accounts();
  h.hold_writes = true;
  const auto id = h.hello();
  h.send(id, proto::login_name{"yoda"});
  h.take(id);
  h.send(id, proto::login_password{"wrong"});
  CHECK(h.take(id).empty());
  h.answer_writes();
  CHECK(h.take(id) == messages{login(login_result::invalid_password)});
  CHECK(h.stored("yoda").failed_attempts == 1);
}

TEST_CASE("registry core store: stored messages are removed only once the peer confirms them") {
  harness h = accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::direct_message{"luke", "first"});
  h.send(yoda, proto::direct_message{"luke", "second"});
  h.clear_inboxes();
  h.auto_confirm = false;

  // A peer that goes right after the welcome, confirming nothing.
  const auto first = h.login_as("luke", "pw", true);
  CHECK(h.take(first) == messages{login(login_result::welcome), stored("yoda", "first"),
                                  stored("yoda", "second"), mailbox_end()});
  const auto ids = h.stored_ids[first];
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] < ids[1]);
  h.disconnect(first);
  CHECK(h.store().count_offline("luke") == 2);

  // The next login gets the same messages, with the same ids; this one confirms the first.
  const auto second = h.login_as("luke", "pw", true);
  CHECK(h.take(second) == messages{login(login_result::welcome), stored("yoda", "first"),
                                   stored("yoda", "second"), mailbox_end()});
  CHECK(h.stored_ids[second] == ids);
  h.send(second, proto::stored_received{ids[0]});
  CHECK(h.store().count_offline("luke") == 1);
  // An id it was not sent confirms no more than it was sent.
  h.send(second, proto::stored_received{ids[1] + 1000});
  CHECK(h.store().count_offline("luke") == 0);
  h.send(second, proto::logout_request{});

  const auto third = h.login_as("luke", "pw", true);
  CHECK(h.take(third) == welcomed());
}

TEST_CASE("registry core store: confirmations from another session delete nothing of luke's") {
  harness h = accounts();
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::direct_message{"luke", "for luke"});
  h.auto_confirm = false;
  // yoda was sent no stored message: its confirmation of any id changes nothing.
  h.send(yoda, proto::stored_received{1});
  h.send(yoda, proto::stored_received{1'000'000});
  CHECK(h.store().count_offline("luke") == 1);
}

TEST_CASE(
    "registry core store: a full mailbox comes a page at a time, then live traffic, then "
    "the login is announced") {
  core_config config = harness::test_config();
  config.mailbox_page_rows = 2;
  harness h = accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  for (int i = 1; i <= 5; ++i) h.send(yoda, proto::direct_message{"luke", "m" + std::to_string(i)});
  h.clear_inboxes();
  h.auto_confirm = false;

  const auto luke = h.login_as("luke", "pw", true);
  CHECK(h.take(luke) ==
        messages{login(login_result::welcome), stored("yoda", "m1"), stored("yoda", "m2")});
  // Not announced yet; a live message waits behind the rest of the mailbox.
  CHECK(h.take(yoda).empty());
  h.send(yoda, proto::direct_message{"luke", "live"});
  CHECK(h.take(luke).empty());
  h.send(luke, proto::stored_received{h.stored_ids[luke].back()});
  CHECK(h.take(luke) == messages{stored("yoda", "m3"), stored("yoda", "m4")});
  h.send(luke, proto::stored_received{h.stored_ids[luke].back()});
  CHECK(h.take(luke) == messages{stored("yoda", "m5"), mailbox_end(),
                                 delivery("yoda", "live", delivery_kind::direct)});
  CHECK(h.take(yoda) == messages{reply(outcome::message_delivered), presence("luke", true)});
  h.send(luke, proto::stored_received{h.stored_ids[luke].back()});
  CHECK(h.store().count_offline("luke") == 0);
}

TEST_CASE("registry core store: a login whose mailbox is still being read announces no logout") {
  core_config config = harness::test_config();
  config.mailbox_page_rows = 1;
  harness h = accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::direct_message{"luke", "a"});
  h.send(yoda, proto::direct_message{"luke", "b"});
  h.clear_inboxes();
  h.auto_confirm = false;
  const auto luke = h.login_as("luke", "pw", true);
  h.disconnect(luke);
  CHECK(h.take(yoda).empty());
  CHECK(h.store().count_offline("luke") == 2);
}

TEST_CASE("registry core store: input pauses while too many commands wait for the store") {
  core_config config = harness::test_config();
  config.max_pending_writes_per_session = 3;
  harness h = accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.hold_writes = true;
  for (int i = 0; i < 2; ++i) h.send(yoda, proto::direct_message{"luke", "x"});
  CHECK(h.registry().accepts_input(yoda));
  h.send(yoda, proto::direct_message{"luke", "x"});
  CHECK_FALSE(h.registry().accepts_input(yoda));
  // Another session is not held back.
  CHECK(h.registry().accepts_input(leia));
  h.answer_writes();
  CHECK(h.registry().accepts_input(yoda));
}

TEST_CASE("registry core store: past the byte budget, every session with writes waiting pauses") {
  core_config config = harness::test_config();
  config.max_pending_write_bytes = 100;
  harness h = accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.hold_writes = true;
  h.send(leia, proto::direct_message{"luke", "short"});
  h.send(yoda, proto::direct_message{"luke", std::string(200, 'y')});
  CHECK_FALSE(h.registry().accepts_input(yoda));
  CHECK_FALSE(h.registry().accepts_input(leia));
  // One with nothing waiting may still go on: it adds nothing until it writes.
  const auto han = h.login_as("han", "pw");
  CHECK(h.registry().accepts_input(han));
  h.answer_writes();
  CHECK(h.registry().accepts_input(yoda));
}

TEST_CASE("registry core store: a session whose waiting frames pass their bound is dropped") {
  core_config config = harness::test_config();
  config.max_held_bytes = 2000;
  harness h = accounts(config);
  const auto yoda = h.login_as("yoda", "pw");
  const auto leia = h.login_as("leia", "pw");
  h.clear_inboxes();
  h.hold_writes = true;
  h.send(yoda, proto::direct_message{"luke", "waits for the store"});
  // Broadcasts to yoda queue behind its acknowledgement, past the bound.
  for (int i = 0; i < 3; ++i) h.send(leia, proto::broadcast_message{std::string(1000, 'b')});
  CHECK(h.end_of(yoda) == end_cause::overloaded);
  CHECK(h.take(yoda).empty());
  // Dropped at the end of the turn that passed the bound: the second broadcast's.
  CHECK(h.take(leia) == messages{reply(outcome::broadcast_sent), reply(outcome::broadcast_sent),
                                 presence("yoda", false), reply(outcome::broadcast_sent)});
}

}  // namespace
}  // namespace parley::registry::testing

namespace parley::registry::testing {
namespace {

TEST_CASE(
    "registry core store: a logout while the mailbox is read ends the session, and the "
    "messages stay for the next login") {
  core_config config = harness::test_config();
  config.mailbox_page_rows = 1;
  harness h(config);
  for (const char* name : {"yoda", "luke"}) h.seed_account(name, "pw");
  const auto yoda = h.login_as("yoda", "pw");
  h.send(yoda, proto::direct_message{"luke", "a"});
  h.send(yoda, proto::direct_message{"luke", "b"});
  h.auto_confirm = false;

  SUBCASE("before the first page is read") {
    h.hold_writes = true;
    const auto luke = h.login_as("luke", "pw", true);
    h.send(luke, proto::logout_request{});
    h.answer_writes();
    CHECK(h.take(luke) ==
          messages{login(proto::login_result::welcome), ended(proto::end_reason::logged_out)});
    CHECK(h.end_of(luke) == end_cause::logged_out);
  }
  SUBCASE("while the next page waits for a confirmation") {
    const auto luke = h.login_as("luke", "pw", true);
    CHECK(h.take(luke) == messages{login(proto::login_result::welcome), stored("yoda", "a")});
    h.send(luke, proto::logout_request{});
    CHECK(h.take(luke) == messages{ended(proto::end_reason::logged_out)});
    CHECK(h.end_of(luke) == end_cause::logged_out);
  }
  CHECK(h.store().count_offline("luke") == 2);
}

}  // namespace
}  // namespace parley::registry::testing
