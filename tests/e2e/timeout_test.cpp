// Inactivity timeout (SPEC 5): receiving messages is not activity; a well-formed command is.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

namespace parley::e2e {

TEST_CASE("timeout: an idle user is logged out and the others are told") {
  constexpr int timeout_seconds = 2;
  registry_fixture registry({.timeout_seconds = timeout_seconds});

  auto luke = logged_in_peer(registry, "luke");
  const auto idle_since = std::chrono::steady_clock::now();
  auto yoda = logged_in_peer(registry, "yoda");

  // yoda keeps issuing commands, and sends luke messages, which do not count as luke's activity.
  const auto give_up = idle_since + std::chrono::seconds(timeout_seconds) + default_timeout;
  REQUIRE(keep_active_until(*yoda, "luke logged out", give_up, [&] {
    yoda->send_line("message luke Wake up!");
    yoda->send_line("whoelse");
  }));
  const auto idle_for = std::chrono::steady_clock::now() - idle_since;
  CHECK(idle_for >= std::chrono::seconds(timeout_seconds) - 500ms);

  luke->expect_line("yoda: Wake up!");
  luke->expect_line(text::inactivity);
  CHECK(luke->wait_exit() == 0);

  // yoda, active all along, is still logged in.
  CHECK(yoda->running());
  CHECK(yoda->output().text().find(text::inactivity) == std::string::npos);
  log_out(*yoda);
}

}  // namespace parley::e2e
