// The course's sample session, played by real peers on terminals against a real registry.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

namespace parley::e2e {

using lines = std::vector<std::string>;

TEST_CASE("sample session: presence and online and offline messages and broadcast and logout") {
  registry_fixture registry;

  auto yoda = logged_in_peer(registry, "yoda");
  CHECK(answer_to(*yoda, "whoelse") == lines{std::string(text::no_other_users_online)});

  auto luke = logged_in_peer(registry, "luke");
  yoda->expect_line("luke logged in");
  CHECK(answer_to(*luke, "whoelse") == lines{"yoda"});

  // Online: shown at once; the sender sees nothing.
  CHECK(answer_to(*yoda, "message luke Hello luke, how are you?").empty());
  luke->expect_line("yoda: Hello luke, how are you?");

  // Offline: stored, then shown at the recipient's next login, right after the welcome.
  CHECK(answer_to(*luke, "message hans Are you there, hans?").empty());
  CHECK(answer_to(*luke, "message hans Answer me!").empty());
  auto hans = logged_in_peer(registry, "hans");
  hans->expect_line("luke: Are you there, hans?");
  hans->expect_line("luke: Answer me!");
  yoda->expect_line("hans logged in");
  luke->expect_line("hans logged in");
  CHECK(answer_to(*hans, "whoelse") == lines{"luke", "yoda"});

  // Broadcast: everyone online but the sender.
  CHECK(answer_to(*hans, "broadcast Hello everyone, spaces  kept").empty());
  yoda->expect_line("hans: Hello everyone, spaces  kept");
  luke->expect_line("hans: Hello everyone, spaces  kept");

  CHECK(answer_to(*yoda, "whoelsesince 600") == lines{"hans", "luke"});

  log_out(*luke);
  yoda->expect_line("luke logged out");
  hans->expect_line("luke logged out");
  CHECK(answer_to(*yoda, "whoelse") == lines{"hans"});
  // A user who logged out a moment ago is still in whoelsesince.
  CHECK(answer_to(*yoda, "whoelsesince 600") == lines{"hans", "luke"});

  log_out(*hans);
  yoda->expect_line("hans logged out");
  log_out(*yoda);
}

TEST_CASE("sample session: block refuses messages and hides presence and unblock undoes it") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  auto hans = logged_in_peer(registry, "hans");
  yoda->expect_line("hans logged in");
  luke->expect_line("hans logged in");

  CHECK(answer_to(*yoda, "block luke") == lines{"luke is blocked"});

  // luke can no longer message yoda, online or not, and is not told that he is blocked
  // except through the refusal itself.
  CHECK(answer_to(*luke, "message yoda Hello?") == lines{std::string(text::blocked_by_recipient)});
  CHECK(answer_to(*luke, "whoelse") == lines{"hans"});
  CHECK(answer_to(*luke, "whoelsesince 600") == lines{"hans"});
  CHECK(answer_to(*luke, "broadcast Anyone there?") == lines{std::string(text::broadcast_partial)});
  hans->expect_line("luke: Anyone there?");
  // Blocking is one-way: yoda still reaches luke and sees him.
  CHECK(answer_to(*yoda, "message luke Do not disturb me").empty());
  luke->expect_line("yoda: Do not disturb me");
  CHECK(answer_to(*yoda, "whoelse") == lines{"hans", "luke"});

  // yoda's presence is hidden from luke.
  log_out(*yoda);
  hans->expect_line("yoda logged out");
  yoda = logged_in_peer(registry, "yoda");
  hans->expect_line("yoda logged in");
  // Presence frames to luke would have come before this answer on the same connection.
  CHECK(answer_to(*luke, "whoelse") == lines{"hans"});
  CHECK(luke->output().text().find("yoda logged") == std::string::npos);
  // Offline or online, a blocked sender's message is refused, and nothing is stored.
  CHECK(answer_to(*luke, "message yoda Still there?") ==
        lines{std::string(text::blocked_by_recipient)});

  CHECK(answer_to(*yoda, "unblock luke") == lines{"luke is unblocked"});
  CHECK(answer_to(*luke, "message yoda Thank you, master").empty());
  yoda->expect_line("luke: Thank you, master");
  CHECK(answer_to(*luke, "whoelse") == lines{"hans", "yoda"});
  CHECK(yoda->output().text().find("Anyone there?") == std::string::npos);
  CHECK(yoda->output().text().find("Still there?") == std::string::npos);

  log_out(*yoda);
  luke->expect_line("yoda logged out");
  hans->expect_line("yoda logged out");
}

}  // namespace parley::e2e
