// Registry core: the session life cycle. Hello and protocol errors, the login deadline, the
// inactivity timeout (SPEC 3.6, 5), shutdown, and a restart on a database file (SPEC 6).
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <random>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::delivery_kind;
using proto::end_reason;
using proto::login_result;
using proto::outcome;

TEST_CASE("registry core: hello and protocol version") {
  harness h;
  const auto id = h.open();
  CHECK(h.registry().sessions() == 1);

  SUBCASE("the current version is answered") {
    h.send(id, proto::client_hello{proto::protocol_version, "test"});
    CHECK(h.take(id) == messages{proto::server_hello{}});
    CHECK(h.ends.empty());
  }
  SUBCASE("another version gets our hello, then the end") {
    h.send(id, proto::client_hello{proto::protocol_version + 1, "future"});
    CHECK(h.take(id) == messages{proto::server_hello{}, ended(end_reason::protocol_error)});
    CHECK(h.end_of(id) == end_cause::protocol_error);
    CHECK(h.registry().sessions() == 0);
  }
}

TEST_CASE("registry core: a message the session's state does not allow ends it") {
  harness h;
  h.seed_account("yoda", "pw");
  h.seed_account("luke", "pw");
  h.disconnect_ended = false;

  const auto expect_protocol_error = [&h](session_id id) {
    CHECK(h.take(id) == messages{ended(end_reason::protocol_error)});
    CHECK(h.end_of(id) == end_cause::protocol_error);
  };

  SUBCASE("anything before hello") {
    const auto id = h.open();
    h.send(id, proto::login_name{"yoda"});
    expect_protocol_error(id);
  }
  SUBCASE("a second hello") {
    const auto id = h.hello();
    h.send(id, proto::client_hello{});
    expect_protocol_error(id);
  }
  SUBCASE("a command before login") {
    const auto id = h.hello();
    h.send(id, proto::direct_message{"yoda", "hi"});
    expect_protocol_error(id);
  }
  SUBCASE("activity before login") {
    const auto id = h.hello();
    h.send(id, proto::login_name{"yoda"});
    h.take(id);
    h.send(id, proto::activity{});
    expect_protocol_error(id);
  }
  SUBCASE("a password before a name") {
    const auto id = h.hello();
    h.send(id, proto::login_password{"pw"});
    expect_protocol_error(id);
  }
  SUBCASE("a second name instead of the password") {
    const auto id = h.hello();
    h.send(id, proto::login_name{"yoda"});
    h.take(id);
    h.send(id, proto::login_name{"luke"});
    expect_protocol_error(id);
  }
  SUBCASE("anything while the password is being checked") {
    h.hold_hashes = true;
    const auto id = h.hello();
    h.send(id, proto::login_name{"yoda"});
    h.send(id, proto::login_password{"pw"});
    h.take(id);
    h.send(id, proto::login_password{"pw"});
    expect_protocol_error(id);
    // The pending check is then moot.
    h.run_held();
    CHECK(h.take(id).empty());
    CHECK(h.registry().online_users() == 0);
  }
  SUBCASE("a login message once logged in, which also announces the user gone") {
    const auto luke = h.login_as("luke", "pw");
    const auto id = h.login_as("yoda", "pw");
    h.clear_inboxes();
    h.send(id, proto::login_name{"yoda"});
    expect_protocol_error(id);
    CHECK(h.take(luke) == messages{presence("yoda", false)});
    CHECK(h.registry().online_users() == 1);
    // Whatever still arrives from an ending session is dropped; its disconnect says nothing.
    h.send(id, proto::logout_request{});
    h.disconnect(id);
    CHECK(h.take(id).empty());
    CHECK(h.take(luke).empty());
    CHECK(h.registry().sessions() == 1);
  }
}

TEST_CASE("registry core: a login not completed in time is closed") {
  harness h;
  h.seed_account("yoda", "pw");
  const auto silent = h.open();
  const auto named = h.hello();
  h.send(named, proto::login_name{"yoda"});
  h.take(named);
  CHECK(h.registry().next_deadline() == h.now + 30s);

  h.advance(30s - 1ms);
  h.tick();
  CHECK(h.ends.empty());
  // A session that logs in in time is not touched by the login deadline.
  const auto in_time = h.login_as("yoda", "pw");

  h.advance(1ms);
  h.tick();
  CHECK(h.take(silent) == messages{ended(end_reason::login_timeout)});
  CHECK(h.end_of(silent) == end_cause::login_timeout);
  CHECK(h.end_of(named) == end_cause::login_timeout);
  CHECK(h.end_of(in_time) == std::nullopt);
  CHECK(h.registry().sessions() == 1);
  // Next: in_time's idle deadline (it may be reported early, never late).
  REQUIRE(h.registry().next_deadline());
  CHECK(*h.registry().next_deadline() <= h.now - 1ms + 600s);
}

TEST_CASE("registry core: inactivity timeout") {
  core_config config = harness::test_config();
  config.idle_timeout = 10s;  // shorter than the login deadline on purpose
  harness h(config);
  h.seed_account("yoda", "pw");
  h.seed_account("luke", "pw");
  // yoda logs in one second before luke, so their deadlines never tie.
  const auto yoda = h.login_as("yoda", "pw");
  h.advance(1s);
  const auto luke = h.login_as("luke", "pw");
  h.clear_inboxes();
  const auto logged_in = h.now;  // luke's login; yoda's was a second earlier

  SUBCASE("no command for the timeout: logged out, others told, logout recorded") {
    h.advance(9s - 1ms);
    h.tick();
    CHECK(h.ends.empty());
    h.advance(1ms);
    h.tick();
    CHECK(h.take(yoda) == messages{ended(end_reason::inactivity)});
    CHECK(h.end_of(yoda) == end_cause::inactivity);
    CHECK(h.take(luke) == messages{presence("yoda", false)});
    CHECK(h.registry().online_users() == 1);
    CHECK(h.stored("yoda").last_logout == h.now);
    h.advance(1s);
    h.tick();
    CHECK(h.take(luke) == messages{ended(end_reason::inactivity)});
    CHECK(h.end_of(luke) == end_cause::inactivity);
    CHECK(h.registry().online_users() == 0);
  }
  SUBCASE("commands and activity reset the clock; receiving messages does not") {
    h.advance(5s);
    h.send(yoda, proto::activity{});
    CHECK(h.take(yoda).empty());  // activity has no reply
    h.advance(4s);
    h.send(luke, proto::direct_message{"yoda", "still there?"});  // luke acts, yoda receives
    h.advance(1s);                                                // past both first deadlines
    h.tick();
    CHECK(h.ends.empty());
    h.advance(5s);  // yoda: 10 s after the activity
    h.tick();
    CHECK(h.end_of(yoda) == end_cause::inactivity);
    CHECK(h.end_of(luke) == std::nullopt);
    CHECK(h.take(luke) == messages{reply(outcome::message_delivered), presence("yoda", false)});
    // luke last acted 9 s after its login.
    h.advance(4s - 1ms);
    h.tick();
    CHECK(h.end_of(luke) == std::nullopt);
    h.advance(1ms);
    h.tick();
    CHECK(h.end_of(luke) == end_cause::inactivity);
    CHECK(h.now == logged_in + 19s);
  }
  SUBCASE("a whoelse is a command like any other") {
    h.advance(9s);
    h.send(yoda, proto::who_else{});
    h.advance(1s);
    h.tick();
    CHECK(h.end_of(yoda) == std::nullopt);
    CHECK(h.end_of(luke) == end_cause::inactivity);
  }
}

TEST_CASE("registry core: next_deadline does not grow with traffic") {
  harness h;
  h.seed_account("yoda", "pw");
  h.seed_account("luke", "pw");
  CHECK_FALSE(h.registry().next_deadline());
  const auto yoda = h.login_as("yoda", "pw");
  h.login_as("luke", "pw");
  for (int i = 0; i < 1000; ++i) {
    h.advance(1s);
    h.send(yoda, proto::activity{});
  }
  // Early entries wake the shell once and are pushed back at the real deadline.
  h.tick();
  REQUIRE(h.registry().next_deadline());
  CHECK(h.end_of(yoda) == std::nullopt);
  CHECK(*h.registry().next_deadline() > h.now);
  CHECK(*h.registry().next_deadline() <= h.now + 600s);
}

TEST_CASE("registry core: shutdown ends every session, records logouts, announces nothing") {
  harness h;
  h.seed_account("yoda", "pw");
  h.seed_account("luke", "pw");
  const auto yoda = h.login_as("yoda", "pw");
  const auto luke = h.login_as("luke", "pw");
  const auto pending = h.hello();
  h.clear_inboxes();
  h.advance(5s);
  h.shutdown();
  for (const auto id : {yoda, luke, pending}) {
    CHECK(h.take(id) == messages{ended(end_reason::shutdown)});
    CHECK(h.end_of(id) == end_cause::shutdown);
  }
  CHECK(h.registry().sessions() == 0);
  for (const auto& account : h.store().load().accounts) CHECK(account.last_logout == h.now);
}

// A unique temporary database file, removed (with its WAL files) at the end.
struct temp_database {
  std::filesystem::path path;
  temp_database() {
    std::random_device random;
    path = std::filesystem::temp_directory_path() /
           ("parley-core-test-" + std::to_string(random()) + ".db");
  }
  ~temp_database() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(path.string() + suffix, ignored);
    }
  }
};

TEST_CASE("registry core: a restart on the same file keeps accounts, blocks, mail and lockouts") {
  temp_database file;
  const auto start = start_time();
  {
    harness h(harness::test_config(), file.path.string());
    h.seed_account("yoda", "pw");
    const auto yoda = h.hello();
    h.send(yoda, proto::login_name{"yoda"});
    h.send(yoda, proto::login_password{"pw"});
    const auto luke = h.login_as("luke", "new-account");
    h.send(luke, proto::block_user{"yoda"});
    h.send(yoda, proto::direct_message{"leia", "not an account yet"});
    const auto leia = h.login_as("leia", "princess");
    h.send(leia, proto::logout_request{});
    h.send(yoda, proto::direct_message{"leia", "stored"});
    CHECK(h.take(yoda).back() == reply(outcome::message_stored));
    h.shutdown();
    // Three wrong passwords for yoda lock it across the restart.
    const auto attacker = h.hello();
    h.send(attacker, proto::login_name{"yoda"});
    for (int i = 0; i < 3; ++i) h.send(attacker, proto::login_password{"guess"});
    CHECK(h.end_of(attacker) == end_cause::locked_out);
  }
  harness h(harness::test_config(), file.path.string());
  h.now = start + 10s;

  // yoda is still locked.
  const auto yoda = h.hello();
  h.send(yoda, proto::login_name{"yoda"});
  h.send(yoda, proto::login_password{"pw"});
  CHECK(h.take(yoda) ==
        messages{login(login_result::ask_password), login(login_result::account_locked)});
  // luke's account and block survive; leia's mail is delivered once.
  const auto luke = h.login_as("luke", "new-account");
  const auto leia = h.login_as("leia", "princess", true);
  CHECK(h.take(leia) ==
        messages{login(login_result::welcome), stored("yoda", "stored"), mailbox_end()});
  h.clear_inboxes();
  h.send(leia, proto::who_else_since{100});
  CHECK(h.take(leia) == messages{names(proto::user_query::whoelsesince, {"luke", "yoda"})});
  (void)luke;

  // After block_duration the lock is over, and it was counted from the third failure.
  h.now = start + 60s;
  const auto later = h.login_as("yoda", "pw");
  h.clear_inboxes();
  h.send(later, proto::direct_message{"luke", "hi"});
  CHECK(h.take(later) == messages{reply(outcome::blocked_by_recipient)});
}

}  // namespace
}  // namespace parley::registry::testing
