// An open private chat (SPEC 8.4 to 8.6): messages both ways, stopprivate from either side, the
// end of a chat however it comes about, and a chat that goes on while the registry cannot answer.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

namespace parley::e2e {

namespace {

using lines = std::vector<std::string>;

}  // namespace

TEST_CASE("private: messages go both ways with their exact texts") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  yoda->send_line("private luke Do or do not, there is no try");
  luke->expect_line(text::private_text("yoda", "Do or do not, there is no try"));
  luke->send_line("private yoda I don't believe it ✓");
  yoda->expect_line(text::private_text("luke", "I don't believe it ✓"));
  // The sender's own screen shows nothing but the echo of what was typed.
  CHECK(answer_to(*yoda, "private luke quiet") == lines{});
  luke->expect_line(text::private_text("yoda", "quiet"));
  // A private message to someone with no chat open is refused by the peer.
  CHECK(answer_to(*yoda, "private hans hi") == lines{text::private_not_enabled("hans")});
  // The registry never sees the bodies.
  CHECK(registry.log().find("Do or do not") == std::string::npos);

  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: stopprivate from the requester's side") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  CHECK(answer_to(*yoda, "stopprivate luke") == lines{text::private_stopped("luke")});
  luke->expect_line(text::private_stopped_by("yoda"));
  CHECK(answer_to(*yoda, "private luke still there?") == lines{text::private_not_enabled("luke")});
  CHECK(answer_to(*luke, "private yoda still there?") == lines{text::private_not_enabled("yoda")});
  CHECK(answer_to(*luke, "stopprivate yoda") == lines{text::private_not_enabled("yoda")});

  // A new chat can be started after the end of the last one, in the other direction too.
  open_private_chat(luke, yoda);
  yoda->send_line("private luke again");
  luke->expect_line(text::private_text("yoda", "again"));
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: stopprivate from the target's side") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  CHECK(answer_to(*luke, "stopprivate yoda") == lines{text::private_stopped("yoda")});
  yoda->expect_line(text::private_stopped_by("luke"));
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: registry commands keep working during a chat") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  auto luke = logged_in_user(registry, "luke");
  auto hans = logged_in_user(registry, "hans");
  yoda->expect_line("hans logged in");
  luke->expect_line("hans logged in");
  open_private_chat(yoda, luke);

  yoda->send_line("message luke In public");
  luke->expect_line("yoda: In public");
  yoda->send_line("private luke In private");
  luke->expect_line(text::private_text("yoda", "In private"));
  luke->send_line("broadcast To everyone");
  yoda->expect_line("luke: To everyone");
  hans->expect_line("luke: To everyone");
  CHECK(answer_to(*luke, "whoelse").size() == 2);
  CHECK(answer_to(*yoda, "block hans") == lines{"hans is blocked"});
  // Two chats at once: hans and luke.
  open_private_chat(hans, luke);
  luke->send_line("private hans One");
  luke->send_line("private yoda Two");
  hans->expect_line(text::private_text("luke", "One"));
  yoda->expect_line(text::private_text("luke", "Two"));
  CHECK(hans->output().text().find("Two") == std::string::npos);

  log_out(*hans);
  luke->expect_line(text::private_ended("hans"));
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: a logout ends the chat for the other side") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  log_out(*luke);
  expect_lines_in_any_order(*yoda, {text::private_ended("luke"), "luke logged out"});
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});

  // The same from the other side: the requester leaves.
  luke = logged_in_user(registry, "luke");
  yoda->expect_line("luke logged in");
  open_private_chat(yoda, luke);
  log_out(*yoda);
  expect_lines_in_any_order(*luke, {text::private_ended("yoda"), "yoda logged out"});
  log_out(*luke);
}

TEST_CASE("private: kill -9 of one peer ends the chat for the other") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  luke->signal(SIGKILL);
  luke->wait_exit();
  expect_lines_in_any_order(*yoda, {text::private_ended("luke"), "luke logged out"});
  CHECK(answer_to(*yoda, "private luke hello?") == lines{text::private_not_enabled("luke")});
  log_out(*yoda);
}

TEST_CASE("private: an inactivity timeout ends the chat, and private messages are activity") {
  constexpr int timeout_seconds = 2;
  registry_fixture registry({.timeout_seconds = timeout_seconds});
  auto yoda = logged_in_user(registry, "yoda");
  auto luke = logged_in_user(registry, "luke");
  open_private_chat(yoda, luke);
  // luke's answer (y) was his last activity: receiving private messages is none.
  const auto idle_since = std::chrono::steady_clock::now();

  const auto give_up = idle_since + std::chrono::seconds(timeout_seconds) + default_timeout;
  // yoda stays active only through the chat: numbered private messages.
  int sent = 0;
  REQUIRE(keep_active_until(*yoda, text::private_ended("luke"), give_up, [&] {
    yoda->send_line("private luke ping " + std::to_string(++sent));
  }));
  CHECK(std::chrono::steady_clock::now() - idle_since >=
        std::chrono::seconds(timeout_seconds) - 500ms);
  luke->expect_line(text::private_text("yoda", "ping 1"));
  luke->expect_line(text::inactivity);
  CHECK(luke->wait_exit() == 0);

  // yoda sent nothing but private messages for longer than the timeout, and is still logged in.
  CHECK(yoda->running());
  CHECK(yoda->output().text().find(text::inactivity) == std::string::npos);
  log_out(*yoda);
}

TEST_CASE("private: messages flow while the registry is stopped (SIGSTOP)") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);

  {
    const stopped_process frozen(registry.process());
    // A registry command first: it waits for the registry, and the chat must not wait behind it.
    yoda->send_line("whoelse");
    yoda->send_line("private luke The registry sleeps");
    luke->expect_line(text::private_text("yoda", "The registry sleeps"));
    luke->send_line("private yoda We talk anyway");
    yoda->expect_line(text::private_text("luke", "We talk anyway"));
    CHECK(answer_to(*luke, "stopprivate yoda") == lines{text::private_stopped("yoda")});
    yoda->expect_line(text::private_stopped_by("luke"));
  }
  // Once the registry goes on, the waiting command is answered.
  yoda->expect_line("luke");
  open_private_chat(luke, yoda);
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE("private: chats go on when the registry is gone, and the peer exits with the last") {
  registry_fixture registry;
  // They try to reconnect for 2 s (SPEC 11), and then give up.
  const std::vector<std::string> briefly = {"--reconnect-for", "2"};
  auto yoda = logged_in_user_with(registry, "yoda", briefly);
  auto luke = logged_in_user_with(registry, "luke", briefly);
  auto hans = logged_in_user_with(registry, "hans", briefly);
  yoda->expect_line("hans logged in");
  open_private_chat(yoda, luke);
  open_private_chat(hans, luke);

  registry.kill9();
  for (auto* peer : {&yoda, &luke, &hans}) {
    (*peer)->expect_line(text::lost_registry);
    (*peer)->expect_line(text::reconnecting_hint);
  }
  // The chats went on while they tried.
  yoda->send_line("private luke Are you there");
  luke->expect_line(text::private_text("yoda", "Are you there"));
  for (auto* peer : {&yoda, &luke, &hans}) {
    (*peer)->expect_line(text::could_not_reconnect);
    (*peer)->expect_line("Gave up after 2 s; start the peer again to log in");
    (*peer)->expect_line(text::private_chats_go_on);
  }
  yoda->send_line("private luke Still here");
  luke->expect_line(text::private_text("yoda", "Still here"));
  CHECK(answer_to(*luke, "whoelse") == lines{std::string(text::not_connected)});
  CHECK(answer_to(*luke, "startprivate leia") == lines{std::string(text::not_connected)});

  // luke's chat with hans ends; the one with yoda keeps luke running.
  // (hans exits as soon as his last chat ends, so answer_to's second command would go unread.)
  hans->send_line("stopprivate luke");
  hans->expect_line(text::private_stopped("luke"));
  luke->expect_line(text::private_stopped_by("hans"));
  CHECK(hans->wait_exit() == 1);
  CHECK(luke->running());
  luke->send_line("private yoda Last words");
  yoda->expect_line(text::private_text("luke", "Last words"));

  // yoda logs out: his end of the chat closes, and both have no chat left.
  yoda->send_line("logout");
  CHECK(yoda->wait_exit() == 1);
  luke->expect_line(text::private_ended("yoda"));
  CHECK(luke->wait_exit() == 1);
}

}  // namespace parley::e2e
