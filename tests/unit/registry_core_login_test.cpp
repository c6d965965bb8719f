// Registry core, SPEC 3 and 4: login, account creation, reservations, lockout.
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::login_result;

TEST_CASE("registry core: a new user is asked for a password, created, persisted and welcomed") {
  harness h;
  const auto id = h.hello();
  h.send(id, proto::login_name{"yoda"});
  CHECK(h.take(id) == messages{login(login_result::ask_new_password)});

  SUBCASE("a password that is not 1..128 visible ASCII characters is asked again") {
    h.send(id, proto::login_password{"two words"});
    CHECK(h.take(id) == messages{login(login_result::invalid_new_password)});
    h.send(id, proto::login_password{""});
    CHECK(h.take(id) == messages{login(login_result::invalid_new_password)});
    CHECK(h.registry().online_users() == 0);
  }

  h.send(id, proto::login_password{"force"});
  CHECK(h.take(id) == welcomed());
  CHECK(h.registry().online_users() == 1);

  // Only the Argon2id hash is stored, never the password.
  const auto snapshot = h.store().load();
  REQUIRE(snapshot.accounts.size() == 1);
  CHECK(snapshot.accounts[0].name == "yoda");
  CHECK(snapshot.accounts[0].password_hash.find("force") == std::string::npos);
  CHECK(auth::verify_password(snapshot.accounts[0].password_hash, "force"));

  // The account exists at once for the next login.
  h.send(id, proto::logout_request{});
  const auto again = h.hello();
  h.send(again, proto::login_name{"yoda"});
  CHECK(h.take(again) == messages{login(login_result::ask_password)});
  h.send(again, proto::login_password{"force"});
  CHECK(h.take(again) == welcomed());
}

TEST_CASE("registry core: a name online elsewhere is refused and the prompt repeats") {
  harness h;
  h.seed_account("yoda", "force");
  h.seed_account("luke", "jedi");
  h.login_as("yoda", "force");

  const auto id = h.hello();
  h.send(id, proto::login_name{"yoda"});
  CHECK(h.take(id) == messages{login(login_result::already_logged_in)});
  // Still at the name prompt: another name works.
  h.send(id, proto::login_name{"luke"});
  CHECK(h.take(id) == messages{login(login_result::ask_password)});
  h.send(id, proto::login_password{"jedi"});
  CHECK(h.take(id) == welcomed());
  CHECK(h.registry().online_users() == 2);
}

TEST_CASE("registry core: a new name is reserved while one connection creates it") {
  harness h;
  const auto first = h.hello();
  const auto second = h.hello();
  h.send(first, proto::login_name{"rey"});
  CHECK(h.take(first) == messages{login(login_result::ask_new_password)});

  h.send(second, proto::login_name{"rey"});
  CHECK(h.take(second) == messages{login(login_result::already_logged_in)});

  SUBCASE("the reservation holds while the new password is being hashed") {
    h.hold_hashes = true;
    h.send(first, proto::login_password{"scavenger"});
    CHECK(h.held.size() == 1);
    h.send(second, proto::login_name{"rey"});
    CHECK(h.take(second) == messages{login(login_result::already_logged_in)});
    h.run_held();
    CHECK(h.take(first) == welcomed());
    // Created and online: still refused, now for being online.
    h.send(second, proto::login_name{"rey"});
    CHECK(h.take(second) == messages{login(login_result::already_logged_in)});
  }
  SUBCASE("the reservation ends with the connection that held it") {
    h.disconnect(first);
    h.send(second, proto::login_name{"rey"});
    CHECK(h.take(second) == messages{login(login_result::ask_new_password)});
    h.send(second, proto::login_password{"scavenger"});
    CHECK(h.take(second) == welcomed());
  }
  SUBCASE("the reservation ends with a login timeout") {
    h.advance(30s);
    h.tick();
    CHECK(h.end_of(first) == end_cause::login_timeout);
    // second timed out too (same connect time); a fresh connection gets the name.
    const auto third = h.hello();
    h.send(third, proto::login_name{"rey"});
    CHECK(h.take(third) == messages{login(login_result::ask_new_password)});
  }
}

TEST_CASE("registry core: two correct logins racing for one user: the second is refused") {
  harness h;
  h.seed_account("yoda", "force");
  h.hold_hashes = true;
  const auto first = h.hello();
  const auto second = h.hello();
  for (const auto id : {first, second}) {
    h.send(id, proto::login_name{"yoda"});
    CHECK(h.take(id) == messages{login(login_result::ask_password)});
    h.send(id, proto::login_password{"force"});
  }
  REQUIRE(h.held.size() == 2);
  h.run_held();
  CHECK(h.take(first) == welcomed());
  CHECK(h.take(second) == messages{login(login_result::already_logged_in)});
  CHECK(h.registry().online_users() == 1);

  // The refused connection is back at the name prompt.
  h.hold_hashes = false;
  h.send(second, proto::login_name{"luke"});
  CHECK(h.take(second) == messages{login(login_result::ask_new_password)});
}

TEST_CASE("registry core: wrong passwords and the lockout timeline") {
  harness h;
  h.seed_account("yoda", "force");
  const auto start = h.now;

  // One wrong-password attempt on a fresh connection, returning what it received.
  const auto attempt = [&h](const std::string& password) {
    const auto id = h.hello();
    h.send(id, proto::login_name{"yoda"});
    REQUIRE(h.take(id) == messages{login(login_result::ask_password)});
    h.send(id, proto::login_password{password});
    return std::pair{id, h.take(id)};
  };

  // Three consecutive wrong passwords on one connection lock the account.
  const auto id = h.hello();
  h.send(id, proto::login_name{"yoda"});
  CHECK(h.take(id) == messages{login(login_result::ask_password)});
  h.send(id, proto::login_password{"wrong1"});
  CHECK(h.take(id) == messages{login(login_result::invalid_password)});
  h.send(id, proto::login_password{"wrong2"});
  CHECK(h.take(id) == messages{login(login_result::invalid_password)});
  h.send(id, proto::login_password{"wrong3"});
  CHECK(h.take(id) == messages{login(login_result::invalid_now_locked)});
  CHECK(h.end_of(id) == end_cause::locked_out);

  // The lockout is durable data, not a timer.
  const auto stored = h.stored("yoda");
  CHECK(stored.failed_attempts == 3);
  CHECK(stored.locked_until == start + 60s);

  SUBCASE("attempts during the lockout are refused, whatever the password, and do not extend it") {
    h.advance(30s);
    auto [a, got] = attempt("force");
    CHECK(got == messages{login(login_result::account_locked)});
    CHECK(h.end_of(a) == end_cause::locked_out);
    h.advance(29s);
    auto [b, got2] = attempt("wrong");
    CHECK(got2 == messages{login(login_result::account_locked)});
    CHECK(h.stored("yoda").locked_until == start + 60s);
    // Exactly at the end of block_duration the account opens again.
    h.advance(1s);
    auto [c, got3] = attempt("force");
    CHECK(got3 == welcomed());
  }
  SUBCASE("after the lockout the count starts from zero") {
    h.advance(60s);
    auto [a, got] = attempt("wrong");
    CHECK(got == messages{login(login_result::invalid_password)});
    CHECK(h.stored("yoda").failed_attempts == 1);
    CHECK(h.stored("yoda").locked_until == time_point{});
    h.send(a, proto::login_password{"wrong"});
    CHECK(h.take(a) == messages{login(login_result::invalid_password)});
    h.send(a, proto::login_password{"wrong"});
    CHECK(h.take(a) == messages{login(login_result::invalid_now_locked)});
    CHECK(h.stored("yoda").locked_until == h.now + 60s);
  }
}

TEST_CASE("registry core: failure counting across connections and resets") {
  harness h;
  h.seed_account("yoda", "force");

  SUBCASE("a successful login resets the count") {
    const auto a = h.hello();
    h.send(a, proto::login_name{"yoda"});
    h.send(a, proto::login_password{"wrong"});
    h.send(a, proto::login_password{"wrong"});
    h.send(a, proto::login_password{"force"});
    CHECK(h.take(a) == messages{login(login_result::ask_password),
                                login(login_result::invalid_password),
                                login(login_result::invalid_password), login(login_result::welcome),
                                mailbox_end()});
    CHECK(h.stored("yoda").failed_attempts == 0);
    h.send(a, proto::logout_request{});
    // Two more failures do not lock: the count restarted.
    const auto b = h.hello();
    h.send(b, proto::login_name{"yoda"});
    h.send(b, proto::login_password{"wrong"});
    h.send(b, proto::login_password{"wrong"});
    CHECK(h.take(b) == messages{login(login_result::ask_password),
                                login(login_result::invalid_password),
                                login(login_result::invalid_password)});
    CHECK(h.end_of(b) == std::nullopt);
  }
  SUBCASE("failures on two connections add up") {
    const auto a = h.hello();
    const auto b = h.hello();
    h.send(a, proto::login_name{"yoda"});
    h.send(b, proto::login_name{"yoda"});
    h.send(a, proto::login_password{"wrong"});
    h.send(b, proto::login_password{"wrong"});
    h.send(a, proto::login_password{"wrong"});
    CHECK(h.take(a) == messages{login(login_result::ask_password),
                                login(login_result::invalid_password),
                                login(login_result::invalid_now_locked)});
    CHECK(h.end_of(a) == end_cause::locked_out);
    // The other connection is refused on its next attempt, even with the right password.
    h.send(b, proto::login_password{"force"});
    CHECK(h.take(b) == messages{login(login_result::ask_password),
                                login(login_result::invalid_password),
                                login(login_result::account_locked)});
    CHECK(h.end_of(b) == end_cause::locked_out);
  }
  SUBCASE("a lock set while a correct password was being checked still applies") {
    const auto a = h.hello();
    const auto b = h.hello();
    h.send(a, proto::login_name{"yoda"});
    h.send(b, proto::login_name{"yoda"});
    h.send(a, proto::login_password{"wrong"});
    h.send(a, proto::login_password{"wrong"});
    h.hold_hashes = true;
    h.send(b, proto::login_password{"force"});
    h.send(a, proto::login_password{"wrong"});
    REQUIRE(h.held.size() == 2);
    // a's third failure is answered first and locks the account.
    auto b_job = h.held.front();
    h.held.pop_front();
    h.run_held();
    CHECK(h.end_of(a) == end_cause::locked_out);
    h.run(b_job);
    CHECK(h.take(b) ==
          messages{login(login_result::ask_password), login(login_result::account_locked)});
    CHECK(h.registry().online_users() == 0);
  }
}

TEST_CASE("registry core: a hash result for a session that has gone is ignored") {
  harness h;
  h.seed_account("yoda", "force");
  h.hold_hashes = true;
  const auto a = h.hello();
  h.send(a, proto::login_name{"yoda"});
  h.send(a, proto::login_password{"force"});
  REQUIRE(h.held.size() == 1);
  const auto job = h.held.front();
  h.held.clear();

  SUBCASE("after a disconnect") {
    h.disconnect(a);
    h.run(job);
    CHECK(h.last.empty());
    CHECK(h.registry().online_users() == 0);
    CHECK(h.registry().sessions() == 0);
  }
  SUBCASE("after the session ended for a protocol error, with a stale ticket") {
    h.disconnect_ended = false;
    h.send(a, proto::who_else{});
    CHECK(h.end_of(a) == end_cause::protocol_error);
    h.run(job);
    CHECK(h.last.empty());
    CHECK(h.registry().online_users() == 0);
  }
  SUBCASE("a wrong ticket does nothing") {
    auto done = h.compute(job);
    done.ticket += 1000;
    h.finish_hash(done);
    CHECK(h.last.empty());
    h.run(job);
    CHECK(h.registry().online_users() == 1);
  }
}

TEST_CASE("registry core: a new password is hashed and stored before the welcome") {
  harness h;
  h.hold_hashes = true;
  const auto a = h.hello();
  h.send(a, proto::login_name{"finn"});
  h.send(a, proto::login_password{"stormtrooper"});
  REQUIRE(h.held.size() == 1);
  CHECK(h.held.front().what == hash_job::kind::create);
  CHECK(h.held.front().password == "stormtrooper");
  // Nothing persisted before the hash exists.
  CHECK(h.store().load().accounts.empty());

  SUBCASE("hashing failed: the session ends and the name is free again") {
    auto done = h.compute(h.held.front());
    done.ok = false;
    h.held.clear();
    h.finish_hash(done);
    CHECK(h.take(a) == messages{login(login_result::ask_new_password),
                                ended(proto::end_reason::protocol_error)});
    CHECK(h.store().load().accounts.empty());
    const auto b = h.hello();
    h.send(b, proto::login_name{"finn"});
    CHECK(h.take(b) == messages{login(login_result::ask_new_password)});
  }
  SUBCASE("the account cannot be stored (the name was taken in the database meanwhile)") {
    REQUIRE(h.store().add_account("finn", seed_hash("other"), h.now));
    h.run_held();
    CHECK(h.take(a) == messages{login(login_result::ask_new_password),
                                ended(proto::end_reason::protocol_error)});
    REQUIRE(h.ends.size() == 1);
    CHECK(h.ends[0].detail == "could not store the new account");
    CHECK(h.registry().online_users() == 0);
  }
}

}  // namespace
}  // namespace parley::registry::testing
