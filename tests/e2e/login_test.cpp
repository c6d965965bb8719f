// Logging in: new accounts, wrong passwords and lockout, users already online.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

namespace parley::e2e {

namespace {

// Between two login attempts while waiting for a lockout to end.
constexpr milliseconds retry_interval = 250ms;

}  // namespace

TEST_CASE("login: a new user is created and persisted and logs in again after a restart") {
  registry_fixture registry;
  const auto credentials_before = read_file(registry.credentials_path());
  // Distinctive, so that finding it in a file cannot be a coincidence.
  const std::string password = "Tr0ub4dor&3-e2e";

  auto rey = start_peer(registry);
  create_account(*rey, "rey", password);
  log_out(*rey);
  // A password is never shown on the terminal.
  CHECK(rey->raw_output().find(password) == std::string::npos);

  registry.restart();
  rey = start_peer(registry);
  answer_login_prompts(*rey, "rey", "wrong");
  rey->expect_line(text::invalid_password);
  rey->expect(text::password_prompt);
  rey->send_line(password);
  rey->expect_line(text::welcome);
  log_out(*rey);
  registry.stop();

  // The account lives in the database as a hash only: the password is nowhere in plain text.
  CHECK(read_file(registry.credentials_path()) == credentials_before);
  for (const auto& file : {registry.database_path(), registry.log_path()}) {
    INFO(file.string());
    CHECK(read_file(file).find(password) == std::string::npos);
  }
  auto wal = registry.database_path();
  wal += "-wal";
  CHECK(read_file(wal).find(password) == std::string::npos);
  for (const auto& account : sample_users())
    CHECK(read_file(registry.log_path()).find(" " + account.password) == std::string::npos);
}

// The bound on frames before login (--max-prelogin-frame, 1024 bytes) is lifted at the login
// however it completes: after a password's hash, after a new account's commit, and after a
// wrong password whose failure is being written when the right one arrives.
TEST_CASE("login: a message of the longest text is sent right after each way of logging in") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");
  const std::string longest(proto::max_text_bytes, 'x');
  const auto send_longest = [&](child_process& peer, const std::string& from) {
    peer.send_line("message luke " + longest);
    luke->expect_line(from + ": " + longest);
  };

  SUBCASE("a new account") {
    auto rey = start_peer(registry);
    create_account(*rey, "rey", "a-new-password");
    send_longest(*rey, "rey");
    log_out(*rey);
  }
  SUBCASE("a known account") {
    auto yoda = logged_in_peer(registry, "yoda");
    send_longest(*yoda, "yoda");
    log_out(*yoda);
  }
  SUBCASE("a known account after a wrong password") {
    auto yoda = start_peer(registry);
    answer_login_prompts(*yoda, "yoda", "wrong");
    yoda->expect_line(text::invalid_password);
    yoda->expect(text::password_prompt);
    yoda->send_line(password_of("yoda"));
    yoda->expect_line(text::welcome);
    send_longest(*yoda, "yoda");
    log_out(*yoda);
  }
  log_out(*luke);
}

TEST_CASE("login: three wrong passwords lock the account and then even the right one fails") {
  registry_fixture registry;

  auto first = start_peer(registry);
  fail_password_twice(*first, "yoda", "wrong-1", "wrong-2");
  first->send_line("wrong-3");
  first->expect_line(text::now_locked);
  CHECK(first->wait_exit() == 1);

  // Checked after the password, whatever the password.
  auto second = start_peer(registry);
  answer_login_prompts(*second, "yoda", password_of("yoda"));
  second->expect_line(text::account_locked);
  CHECK(second->wait_exit() == 1);
  CHECK(second->output().text().find(text::welcome) == std::string::npos);

  // Other accounts are not affected.
  auto luke = logged_in_peer(registry, "luke");
  log_out(*luke);
}

TEST_CASE("login: failures are counted per user across connections and reset by a success") {
  registry_fixture registry;

  // Two failures, then end of input before logging in: the peer exits 0.
  auto first = start_peer(registry);
  fail_password_twice(*first, "yoda", "wrong-1", "wrong-2");
  first->close_input();
  CHECK(first->wait_exit() == 0);

  // A success resets the count: two more failures are allowed afterwards.
  auto second = start_peer(registry);
  log_in(*second, "yoda", password_of("yoda"));
  log_out(*second);
  auto third = start_peer(registry);
  fail_password_twice(*third, "yoda", "wrong-3", "wrong-4");
  third->close_input();
  CHECK(third->wait_exit() == 0);

  // The third consecutive failure, on yet another connection, locks.
  auto fourth = start_peer(registry);
  answer_login_prompts(*fourth, "yoda", "wrong-5");
  fourth->expect_line(text::now_locked);
  CHECK(fourth->wait_exit() == 1);
}

TEST_CASE("login: the lockout ends after block_duration") {
  constexpr int block_seconds = 2;
  registry_fixture registry({.block_seconds = block_seconds});

  auto locker = start_peer(registry);
  answer_login_prompts(*locker, "luke", "wrong-1");
  locker->expect(text::password_prompt);
  locker->send_line("wrong-2");
  locker->expect(text::password_prompt);
  locker->send_line("wrong-3");
  locker->expect_line(text::now_locked);
  CHECK(locker->wait_exit() == 1);
  const auto locked_at = std::chrono::steady_clock::now();

  // Try the right password until it works: refused while locked, accepted once the lockout ends.
  const auto give_up = locked_at + std::chrono::seconds(block_seconds) + default_timeout;
  int refusals = 0;
  while (true) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    auto attempt = start_peer(registry);
    answer_login_prompts(*attempt, "luke", password_of("luke"));
    const auto reply = attempt->wait_for_any({text::welcome, text::account_locked});
    REQUIRE(reply.has_value());
    if (*reply == 0) {
      log_out(*attempt);
      break;
    }
    CHECK(attempt->wait_exit() == 1);
    ++refusals;
    // Pace the attempts: there is no event to wait for, and the machine is shared.
    pause(retry_interval);
  }
  // Attempts during the lockout did not extend it, and it did not end at once.
  CHECK(refusals >= 1);
  CHECK(std::chrono::steady_clock::now() - locked_at >= std::chrono::seconds(block_seconds - 1));
}

TEST_CASE("login: a user already logged in elsewhere is refused and the peer asks again") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");

  auto other = start_peer(registry);
  other->expect(text::username_prompt);
  other->send_line("luke");
  other->expect_line("luke is already logged in");
  log_in(*other, "hans", password_of("hans"));
  luke->expect_line("hans logged in");
  log_out(*other);
  log_out(*luke);
}

TEST_CASE("login: a name that cannot be an account is refused by the peer") {
  registry_fixture registry;
  auto peer = start_peer(registry);
  peer->expect(text::username_prompt);
  peer->send_line("two words");
  peer->expect_line("Error. Invalid username");
  peer->expect_line("A username is 1 to 32 visible ASCII characters, no spaces");
  log_in(*peer, "yoda", password_of("yoda"));
  log_out(*peer);
}

}  // namespace parley::e2e
