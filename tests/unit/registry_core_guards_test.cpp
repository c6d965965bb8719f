// Registry core, SPEC 9.1's login guards: the failed-password and sign-up budgets per address,
// the account cap, a refused hash job, and a locked account answered only after a hash.
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <string>

namespace parley::registry::testing {
namespace {

using namespace std::chrono_literals;
using proto::login_result;

constexpr const char* attacker = "10.0.0.66";
constexpr const char* other = "10.0.0.1";

core_config with_failures(budget_rate rate) {
  auto c = harness::test_config();
  c.login_failures = rate;
  return c;
}

core_config with_signups(budget_rate rate, std::size_t max_accounts = 100'000) {
  auto c = harness::test_config();
  c.signups = rate;
  c.max_accounts = max_accounts;
  return c;
}

// A connection from `address` at the password prompt of `name`.
session_id at_password(harness& h, const std::string& name, const std::string& address) {
  const auto id = h.hello(address);
  h.send(id, proto::login_name{name});
  REQUIRE(h.take(id) == messages{login(login_result::ask_password)});
  return id;
}

TEST_CASE(
    "registry core: wrong passwords spend the address's budget, and with none left a password "
    "is refused before it is hashed") {
  // 2 a minute, burst 3.
  harness h(with_failures({2, 60s, 3}));
  for (const auto* name : {"u1", "u2", "u3", "u4"}) h.seed_account(name, "right");

  for (const auto* name : {"u1", "u2", "u3"}) {
    const auto id = at_password(h, name, attacker);
    h.send(id, proto::login_password{"wrong"});
    CHECK(h.take(id) == messages{login(login_result::invalid_password)});
  }
  // The fourth, on another account and a fresh connection: refused, and no hash is made.
  h.hold_hashes = true;
  const auto refused = at_password(h, "u4", attacker);
  h.send(refused, proto::login_password{"right"});
  CHECK(h.held.empty());
  CHECK(h.take(refused) == messages{login(login_result::too_many_login_attempts)});
  CHECK(h.end_of(refused) == end_cause::login_budget);
  REQUIRE(h.ends.back().detail.find("--login-failures") != std::string::npos);
  h.hold_hashes = false;

  // Another address is not affected.
  const auto victim = at_password(h, "u4", other);
  h.send(victim, proto::login_password{"right"});
  CHECK(h.take(victim) == welcomed());

  // One token back every 30 s.
  h.advance(29s);
  const auto early = at_password(h, "u1", attacker);
  h.send(early, proto::login_password{"right"});
  CHECK(h.take(early) == messages{login(login_result::too_many_login_attempts)});
  h.advance(1s);
  const auto later = at_password(h, "u1", attacker);
  h.send(later, proto::login_password{"right"});
  CHECK(h.take(later) == welcomed());
}

TEST_CASE("registry core: a right password costs the budget nothing") {
  harness h(with_failures({1, 3600s, 1}));
  h.seed_account("yoda", "force");
  for (int i = 0; i < 5; ++i) {
    const auto id = at_password(h, "yoda", attacker);
    h.send(id, proto::login_password{"force"});
    REQUIRE(h.take(id) == welcomed());
    h.send(id, proto::logout_request{});
  }
  const auto id = at_password(h, "yoda", attacker);
  h.send(id, proto::login_password{"wrong"});
  CHECK(h.take(id) == messages{login(login_result::invalid_password)});
  h.send(id, proto::login_password{"force"});
  CHECK(h.take(id) == messages{login(login_result::too_many_login_attempts)});
}

TEST_CASE(
    "registry core: 50 names x 3 wrong passwords from one address lock only what the "
    "budget allows") {
  // SPEC 9.1's default budget: 30 a minute, burst 60.
  harness h;
  constexpr int names = 50;
  for (int i = 0; i < names; ++i) h.seed_account("user" + std::to_string(i), "right");

  int locked = 0, refused = 0;
  for (int i = 0; i < names; ++i) {
    const auto id = at_password(h, "user" + std::to_string(i), attacker);
    for (int attempt = 0; attempt < 3 && !h.end_of(id); ++attempt) {
      h.send(id, proto::login_password{"wrong"});
      const auto got = h.take(id);
      REQUIRE(got.size() == 1);
      if (got[0] == login(login_result::invalid_now_locked)) ++locked;
      if (got[0] == login(login_result::too_many_login_attempts)) ++refused;
    }
  }
  // 60 failures: 20 accounts locked; every later name was refused at its first password.
  CHECK(locked == 20);
  CHECK(refused == names - 20);
  // Six seconds later, three more failures: one more account.
  h.advance(6s);
  const auto id = at_password(h, "user49", attacker);
  for (int attempt = 0; attempt < 3; ++attempt) h.send(id, proto::login_password{"wrong"});
  CHECK(h.take(id) == messages{login(login_result::invalid_password),
                               login(login_result::invalid_password),
                               login(login_result::invalid_now_locked)});
  // The owners, elsewhere, log in to every account that was not locked.
  for (int i = 20; i < names - 1; ++i)
    h.login_as("user" + std::to_string(i), "right", false, other);
}

TEST_CASE("registry core: a locked account is answered after a hash, like an open one") {
  harness h;
  h.seed_account("yoda", "force");
  const auto locker = at_password(h, "yoda", attacker);
  for (int i = 0; i < 3; ++i) h.send(locker, proto::login_password{"wrong"});
  REQUIRE(h.end_of(locker) == end_cause::locked_out);

  h.hold_hashes = true;
  const auto id = at_password(h, "yoda", other);
  h.send(id, proto::login_password{"force"});
  // Not answered yet: a verify job against the account's own hash, without a rehash (which
  // would take longer exactly when the password is right).
  CHECK(h.take(id).empty());
  REQUIRE(h.held.size() == 1);
  CHECK(h.held.front().what == hash_job::kind::verify);
  CHECK(h.held.front().stored_hash == seed_hash("force"));
  CHECK(h.held.front().address == other);
  CHECK_FALSE(h.held.front().rehash);
  h.run_held();
  CHECK(h.take(id) == messages{login(login_result::account_locked)});
  CHECK(h.end_of(id) == end_cause::locked_out);

  SUBCASE("an open account's job may rehash") {
    h.advance(60s);
    const auto again = at_password(h, "yoda", other);
    h.send(again, proto::login_password{"force"});
    REQUIRE(h.held.size() == 1);
    CHECK(h.held.front().rehash);
    h.run_held();
    CHECK(h.take(again) == welcomed());
  }
  SUBCASE("each attempt on a locked account spends the address's budget") {
    h.hold_hashes = false;
    int answered_locked = 0;
    // The three failures that locked it came from the attacker's address, not this one.
    for (int i = 0; i < 61; ++i) {
      const auto poll = at_password(h, "yoda", other);
      h.send(poll, proto::login_password{"force"});
      const auto got = h.take(poll);
      REQUIRE(got.size() == 1);
      if (got[0] == login(login_result::account_locked)) ++answered_locked;
    }
    // One poll was made above: 59 more fit in the burst of 60.
    CHECK(answered_locked == 59);
  }
}

TEST_CASE("registry core: a hash job the pool refused: busy, and the attempt costs nothing") {
  harness h(with_failures({1, 3600s, 1}));
  h.seed_account("yoda", "force");
  h.hold_hashes = true;
  const auto id = at_password(h, "yoda", attacker);
  h.send(id, proto::login_password{"wrong"});
  REQUIRE(h.held.size() == 1);
  auto done = h.compute(h.held.front());
  h.held.clear();
  done.ok = false;
  done.refused = true;
  h.finish_hash(done);
  CHECK(h.take(id) == messages{login(login_result::registry_busy)});
  CHECK(h.end_of(id) == end_cause::hash_busy);
  // The one token of the address is still there.
  h.hold_hashes = false;
  const auto next = at_password(h, "yoda", attacker);
  h.send(next, proto::login_password{"wrong"});
  CHECK(h.take(next) == messages{login(login_result::invalid_password)});

  SUBCASE("a refused sign-up frees its name") {
    h.hold_hashes = true;
    const auto a = h.hello(attacker);
    h.send(a, proto::login_name{"rey"});
    h.send(a, proto::login_password{"jakku"});
    REQUIRE(h.held.size() == 1);
    auto refused = h.compute(h.held.front());
    h.held.clear();
    refused.refused = true;
    h.finish_hash(refused);
    CHECK(h.take(a) ==
          messages{login(login_result::ask_new_password), login(login_result::registry_busy)});
    h.hold_hashes = false;
    const auto b = h.hello(other);
    h.send(b, proto::login_name{"rey"});
    CHECK(h.take(b) == messages{login(login_result::ask_new_password)});
  }
}

TEST_CASE("registry core: new accounts per address are refused at the name once spent") {
  // 1 an hour, burst 2.
  harness h(with_signups({1, 3600s, 2}));
  const auto first = h.login_as("new1", "pw", false, attacker);
  h.send(first, proto::logout_request{});
  h.login_as("new2", "pw", false, attacker);
  const auto id = h.hello(attacker);
  h.send(id, proto::login_name{"new3"});
  // No new-user prompt, no password asked for, no hash.
  CHECK(h.take(id) == messages{login(login_result::new_accounts_refused)});
  CHECK(h.end_of(id) == end_cause::signup_budget);
  CHECK(h.store().load().accounts.size() == 2);

  // Known accounts still log in from that address; other addresses still sign up.
  const auto known = at_password(h, "new1", attacker);
  h.send(known, proto::login_password{"pw"});
  CHECK(h.take(known) == welcomed());
  h.login_as("new3", "pw", false, other);

  // An invalid new password spends nothing; the name is free again after the refusal.
  h.advance(1h);
  const auto retry = h.hello(attacker);
  h.send(retry, proto::login_name{"new4"});
  CHECK(h.take(retry) == messages{login(login_result::ask_new_password)});
  h.send(retry, proto::login_password{"two words"});
  CHECK(h.take(retry) == messages{login(login_result::invalid_new_password)});
  h.send(retry, proto::login_password{"fine"});
  CHECK(h.take(retry) == welcomed());
}

TEST_CASE(
    "registry core: two sign-ups racing for an address's last token: the second is "
    "refused at its password") {
  harness h(with_signups({1, 3600s, 1}));
  const auto a = h.hello(attacker);
  const auto b = h.hello(attacker);
  h.send(a, proto::login_name{"first"});
  h.send(b, proto::login_name{"second"});
  CHECK(h.take(a) == messages{login(login_result::ask_new_password)});
  CHECK(h.take(b) == messages{login(login_result::ask_new_password)});
  h.send(a, proto::login_password{"pw"});
  CHECK(h.take(a) == welcomed());
  h.hold_hashes = true;
  h.send(b, proto::login_password{"pw"});
  CHECK(h.held.empty());
  CHECK(h.take(b) == messages{login(login_result::new_accounts_refused)});
  CHECK(h.store().load().accounts.size() == 1);
}

TEST_CASE("registry core: the account cap counts the accounts being created") {
  harness h(with_signups({0, 3600s, 1}, 3));
  h.seed_account("old1", "pw");
  h.seed_account("old2", "pw");
  const auto a = h.hello(attacker);
  h.send(a, proto::login_name{"third"});
  CHECK(h.take(a) == messages{login(login_result::ask_new_password)});
  // The third name is reserved: a fourth would pass the cap.
  const auto b = h.hello(other);
  h.send(b, proto::login_name{"fourth"});
  CHECK(h.take(b) == messages{login(login_result::new_accounts_refused)});
  CHECK(h.ends.back().detail.find("--max-accounts") != std::string::npos);

  SUBCASE("the reservation ends with its connection") {
    h.disconnect(a);
    h.login_as("fourth", "pw", false, other);
    const auto c = h.hello(other);
    h.send(c, proto::login_name{"fifth"});
    CHECK(h.take(c) == messages{login(login_result::new_accounts_refused)});
  }
  SUBCASE("existing accounts still log in at the cap") {
    h.send(a, proto::login_password{"pw"});
    CHECK(h.take(a) == welcomed());
    h.login_as("old1", "pw", false, other);
  }
}

}  // namespace
}  // namespace parley::registry::testing
