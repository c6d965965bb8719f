// The peer as a terminal program: received control characters are escaped, a half-typed line
// survives incoming messages, end of input logs out; and as a scripted program: plain output.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <csignal>

namespace parley::e2e {

TEST_CASE("terminal: control characters in a received message are shown escaped") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");

  // A newline cannot be typed into a message, so yoda speaks the protocol directly.
  raw_client yoda(registry.port());
  yoda.log_in("yoda", password_of("yoda"));
  luke->expect_line("yoda logged in");
  yoda.send(proto::direct_message{{"luke"}, {"before\x1b[2J\nforged: line\x07 after\r"}});
  CHECK(yoda.expect<proto::command_reply>().result == proto::outcome::message_delivered);
  luke->expect_line(R"(yoda: before\e[2J\nforged: line\x07 after\r)");

  // A scripted peer can type an escape byte into a body.
  auto hans = start_scripted_peer(registry, "hans\nsolo\nmessage luke \x1b[31mred\x1b[0m\n");
  CHECK(hans->wait_exit() == 0);
  luke->expect_line(R"(hans: \e[31mred\e[0m)");

  // None of the bytes reached the terminal raw.
  CHECK(luke->raw_output().find("\x1b[2J") == std::string::npos);
  CHECK(luke->raw_output().find("\x1b[31m") == std::string::npos);
  CHECK(luke->raw_output().find("line\x07") == std::string::npos);
  // The peer's own bell rings once per direct message, outside the text.
  CHECK(std::count(luke->raw_output().begin(), luke->raw_output().end(), '\x07') == 2);
  CHECK(luke->raw_output().find("\nforged") == std::string::npos);
  log_out(*luke);
}

TEST_CASE("terminal: a half-typed line survives an incoming message") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  luke->send_raw("message yoda hel");
  luke->expect("message yoda hel");
  yoda->send_line("message luke Are you typing?");
  luke->expect_line("yoda: Are you typing?");
  // Redrawn below the message, with the prompt.
  luke->expect(std::string(text::command_prompt) + "message yoda hel");
  luke->send_line("lo");
  yoda->expect_line("luke: hello");
  log_out(*luke);
  yoda->expect_line("luke logged out");
  log_out(*yoda);
}

TEST_CASE("terminal: end of input (Ctrl-D) logs out") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  luke->close_input();
  CHECK(luke->wait_exit() == 0);
  yoda->expect_line("luke logged out");
  log_out(*yoda);
}

TEST_CASE("scripted: plain lines in and plain lines out without escape codes") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");

  auto yoda = start_scripted_peer(registry, "yoda\nwise\nwhoelse\nlogout\n");
  CHECK(yoda->wait_exit() == 0);
  CHECK(yoda->raw_output() == scripted_welcome() + "luke\n");
  CHECK(yoda->raw_output().find('\x1b') == std::string::npos);
  CHECK(yoda->error_output().empty());
  luke->expect_line("yoda logged in");
  luke->expect_line("yoda logged out");

  // Without a logout, the end of the script logs out.
  auto hans = start_scripted_peer(registry, "hans\nsolo\nmessage luke Bye\n");
  CHECK(hans->wait_exit() == 0);
  CHECK(hans->raw_output() == scripted_welcome());
  luke->expect_line("hans logged in");
  luke->expect_line("hans: Bye");
  luke->expect_line("hans logged out");
  log_out(*luke);
}

}  // namespace parley::e2e

namespace parley::e2e {

TEST_CASE("terminal: the history keeps commands between runs and never a password") {
  registry_fixture registry;
  const auto home = registry.new_home();
  {
    auto yoda = start_peer(registry, home);
    log_in(*yoda, "yoda", password_of("yoda"));
    yoda->send_line("whoelsesince 60");
    yoda->expect_line(text::no_other_users);
    // Ctrl-D: logs out without another line in the history.
    yoda->close_input();
    CHECK(yoda->wait_exit() == 0);
  }
  const auto history_file = home / ".local" / "state" / "parley" / "history";
  const auto history = read_file(history_file);
  // Only its owner may read it.
  CHECK((std::filesystem::status(history_file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(history.find("whoelsesince 60") != std::string::npos);
  CHECK(history.find(password_of("yoda")) == std::string::npos);

  // Up arrow at the prompt of the next run brings the command back.
  auto yoda = start_peer(registry, home);
  log_in(*yoda, "yoda", password_of("yoda"));
  yoda->send_raw("\x1b[A");
  yoda->expect(std::string(text::command_prompt) + "whoelsesince 60");
  yoda->send_line("");
  yoda->expect_line(text::no_other_users);
  log_out(*yoda);
}

TEST_CASE("terminal: Tab completes command names and user names") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  yoda->send_raw("whoel\t");
  yoda->expect(std::string(text::command_prompt) + "whoelse");
  yoda->send_line("");
  yoda->expect_line("luke");

  // luke's name was seen in his presence and in the whoelse answer.
  yoda->send_raw("message lu\t");
  yoda->expect(std::string(text::command_prompt) + "message luke ");
  yoda->send_line("Completed");
  luke->expect_line("yoda: Completed");
  log_out(*yoda);
  log_out(*luke);
}

TEST_CASE("terminal: Ctrl-C twice and SIGTERM log out like logout") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  auto hans = logged_in_peer(registry, "hans");
  yoda->expect_line("hans logged in");

  // Ctrl-C twice on luke's empty command line (the first only warns).
  luke->send_raw("\x03");
  luke->expect_line(text::interrupt_hint);
  luke->send_raw("\x03");
  CHECK(luke->wait_exit() == 0);
  yoda->expect_line("luke logged out");

  hans->signal(SIGTERM);
  CHECK(hans->wait_exit() == 0);
  yoda->expect_line("hans logged out");
  log_out(*yoda);
}

}  // namespace parley::e2e
