// The registry process: its start-up line, its credentials file, its signals (SPEC 1, 2).
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>

namespace parley::e2e {

TEST_CASE("registry: the start-up line names the port and both files and the limits") {
  registry_fixture registry({.block_seconds = 7, .timeout_seconds = 11});
  const auto log = split_lines(registry.log());
  const auto address = "127.0.0.1:" + std::to_string(registry.port());
  const auto line = std::find_if(log.begin(), log.end(), [&](const std::string& l) {
    return l.find(address) != std::string::npos;
  });
  REQUIRE_MESSAGE(line != log.end(), registry.log());
  CHECK(line->find(registry.credentials_path().string()) != std::string::npos);
  CHECK(line->find(registry.database_path().string()) != std::string::npos);
  CHECK(line->find("7") != std::string::npos);
  CHECK(line->find("11") != std::string::npos);
}

TEST_CASE("registry: a malformed credentials line is reported by number and skipped") {
  registry_fixture registry({.credentials = "yoda wise\nluke  jedi\nhans\nleia rebel\n"});
  const auto log = registry.log();
  const auto file = registry.credentials_path().string();
  CHECK(log.find(file + ":2") != std::string::npos);
  CHECK(log.find(file + ":3") != std::string::npos);
  // The lines around them were imported.
  auto yoda = logged_in_peer(registry, "yoda");
  log_out(*yoda);
  auto leia = logged_in_peer(registry, "leia");
  log_out(*leia);
  // luke was skipped: he is a new user.
  auto luke = start_peer(registry);
  luke->expect(text::username_prompt);
  luke->send_line("luke");
  luke->expect(text::new_user_prompt);
  // A password is never logged, even from a bad line.
  CHECK(log.find("jedi") == std::string::npos);
}

TEST_CASE("registry: without its credentials file it starts with the accounts of its database") {
  registry_fixture registry;
  registry.stop();
  std::filesystem::remove(registry.credentials_path());
  registry.start();
  CHECK(registry.log().find(registry.credentials_path().string()) != std::string::npos);
  auto yoda = logged_in_peer(registry, "yoda");
  log_out(*yoda);
}

TEST_CASE("registry: SIGINT stops it with 0 like SIGTERM") {
  registry_fixture registry;
  auto yoda = logged_in_peer_with(registry, "yoda", {"--reconnect-for", "0"});
  registry.process().signal(SIGINT);
  CHECK(registry.process().wait_exit(10000ms) == 0);
  yoda->expect_line(text::registry_shut_down);
  CHECK(yoda->wait_exit() == 1);
}

}  // namespace parley::e2e

namespace parley::e2e {

TEST_CASE("registry: what peers sent while it was stopped (SIGSTOP) is handled once it continues") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  registry.process().signal(SIGSTOP);
  yoda->send_line("message luke Sent while the registry slept");
  yoda->send_line("whoelse");
  // A short look for something that must not happen: nothing moves while the registry sleeps.
  CHECK_FALSE(luke->wait_for("Sent while", 300ms));
  registry.process().signal(SIGCONT);
  luke->expect_line("yoda: Sent while the registry slept");
  yoda->expect_line("luke");
  log_out(*luke);
  yoda->expect_line("luke logged out");
  log_out(*yoda);
}

}  // namespace parley::e2e
