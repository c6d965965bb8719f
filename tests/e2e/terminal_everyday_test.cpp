// The peer on a terminal all day (SPEC 11, issue 12): Ctrl-C after login (before login, see
// terminal_login_test.cpp), no history at the login prompts, no echo of a password when only
// stdout is redirected, a chat request that sets the typed line aside, Ctrl-Z and fg, and a
// pasted block of lines.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace parley::e2e {
namespace {

// Waits until the terminal's modes satisfy `wanted`; false if they did not within the default
// timeout (the peer sets them right after what it prints, so a test waits rather than looks).
template <typename Predicate>
bool wait_for_modes(const child_process& peer, Predicate wanted) {
  const auto deadline = std::chrono::steady_clock::now() + default_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (wanted(peer.terminal_modes())) return true;
    pause(std::chrono::milliseconds(10));
  }
  return false;
}

// readline's modes (no canonical input, no echo), or else the shell's cooked ones.
bool wait_for_modes(const child_process& peer, bool raw) {
  return wait_for_modes(peer, [raw](const termios& modes) {
    return ((modes.c_lflag & ICANON) == 0 && (modes.c_lflag & ECHO) == 0) == raw;
  });
}

// Waits until the line the cursor is on reads `line` (a prompt redrawn, a completion made); false
// if it did not within the default timeout. Two Ctrl-Cs sent back to back may reach the peer as one
// signal (a pending signal is not queued twice), so a test waits for the first one's effect.
bool wait_for_current_line(child_process& peer, std::string_view line) {
  const auto deadline = std::chrono::steady_clock::now() + default_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    peer.read_output(std::chrono::milliseconds(10));
    // Trailing spaces aside: a terminal does not show them.
    auto shown = std::string_view(peer.output().current_line());
    while (!shown.empty() && shown.back() == ' ') shown.remove_suffix(1);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (shown == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "terminal: after login Ctrl-C clears the typed line, a second on an empty line logs out") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  // The half-typed text is gone (the next Ctrl-C finds the line empty and only warns), and what
  // is typed next is a line of its own.
  luke->send_raw("message yoda forgotten");
  luke->expect("message yoda forgotten");
  luke->send_raw("\x03");
  REQUIRE(wait_for_current_line(*luke, text::command_prompt));
  luke->send_raw("\x03");
  luke->expect_line(text::interrupt_hint);
  luke->send_line("message yoda kept");
  yoda->expect_line("luke: kept");

  // A key typed between two Ctrl-Cs starts the count again: the second clears it and the third
  // only warns.
  luke->send_raw("\x03");
  luke->expect_line(text::interrupt_hint);
  luke->send_raw("x");
  luke->expect(std::string(text::command_prompt) + "x");
  luke->send_raw("\x03");
  REQUIRE(wait_for_current_line(*luke, text::command_prompt));
  luke->send_raw("\x03");
  luke->expect_line(text::interrupt_hint);
  luke->send_line("whoelse");
  luke->expect_line("yoda");
  CHECK(luke->running());

  // Twice in a row on the empty line: logged out, as with logout.
  luke->send_raw("\x03");
  luke->expect_line(text::interrupt_hint);
  luke->send_raw("\x03");
  CHECK(luke->wait_exit() == 0);
  yoda->expect_line("luke logged out");
  log_out(*yoda);
}

TEST_CASE("terminal: no history at the Username and Password prompts") {
  registry_fixture registry;
  const auto home = registry.new_home();
  {
    auto yoda = start_peer(registry, home);
    log_in(*yoda, "yoda", password_of("yoda"));
    yoda->send_line("whoelse");
    yoda->expect_line(text::no_other_users_online);
    // Ctrl-D, so that `whoelse` is the newest entry.
    yoda->close_input();
    CHECK(yoda->wait_exit() == 0);
  }
  // Up at either prompt recalls nothing: had it recalled `whoelse`, the name or the password
  // would be wrong.
  auto yoda = start_peer(registry, home);
  yoda->expect(text::username_prompt);
  yoda->send_raw("\x1b[A");
  yoda->send_line("yoda");
  yoda->expect(text::password_prompt);
  yoda->send_raw("\x1b[A");
  yoda->send_line(password_of("yoda"));
  yoda->expect_line(text::welcome);
  // At the command prompt the history is back.
  yoda->send_raw("\x1b[A");
  yoda->expect(std::string(text::command_prompt) + "whoelse");
  yoda->send_line("");
  yoda->expect_line(text::no_other_users_online);
  log_out(*yoda);
}

TEST_CASE("terminal: with stdout redirected (| tee) the password is not echoed") {
  registry_fixture registry;
  auto yoda = start_peer_as(registry, io_mode::terminal_input);
  yoda->expect(text::username_prompt);
  yoda->send_line("yoda");
  yoda->expect(text::password_prompt);
  yoda->send_line(password_of("yoda"));
  yoda->expect_line(text::welcome);
  // The terminal echoed the name and the Enter after the password, never the password.
  CHECK(yoda->terminal_echo().find("yoda") != std::string::npos);
  CHECK(yoda->terminal_echo().find(password_of("yoda")) == std::string::npos);
  CHECK(yoda->raw_output().find(password_of("yoda")) == std::string::npos);
  // Plain output for the file: no escape codes; and the echo is back for commands.
  CHECK(yoda->raw_output().find('\x1b') == std::string::npos);
  CHECK(wait_for_modes(*yoda, [](const termios& modes) { return (modes.c_lflag & ECHO) != 0; }));
  yoda->send_line("whoelse");
  yoda->expect_line(text::no_other_users_online);
  CHECK(yoda->terminal_echo().find("whoelse") != std::string::npos);
  yoda->send_line("logout");
  CHECK(yoda->wait_exit() == 0);
}

TEST_CASE("terminal: a chat request while a line is typed sets it aside and gives it back") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  luke->send_raw("message yoda half");
  luke->expect("message yoda half");
  yoda->send_line("startprivate luke");
  // Asked on a line of its own, without the typed text.
  luke->expect(text::private_offer("yoda"));
  luke->send_line("y");
  yoda->expect_line(text::private_accepts("luke"));
  yoda->expect_line(text::private_start("luke"));
  luke->expect_line(text::private_start("yoda"));
  // The line is back, cursor at its end, and goes on being typed.
  luke->expect(std::string(text::command_prompt) + "message yoda half");
  luke->send_line(" done");
  yoda->expect_line("luke: half done");
  log_out(*luke);
  log_out(*yoda);
}

TEST_CASE(
    "terminal: Ctrl-Z gives the shell its terminal modes, fg brings readline and the prompt back") {
  registry_fixture registry;
  auto yoda = start_peer_as(registry, io_mode::terminal, true);
  log_in(*yoda, "yoda", password_of("yoda"));
  REQUIRE(wait_for_modes(*yoda, true));

  yoda->send_raw("who");
  yoda->expect(std::string(text::command_prompt) + "who");
  yoda->send_raw("\x1a");
  yoda->expect("[job stopped]");
  // Stopped with the modes the terminal had before the peer started (cooked, echoing).
  CHECK(wait_for_modes(*yoda, false));

  yoda->resume_job();
  CHECK(wait_for_modes(*yoda, true));
  // The prompt and the half-typed line are drawn again, and keys are readline's: Tab completes.
  yoda->expect(std::string(text::command_prompt) + "who");
  yoda->send_raw("el\t");
  CHECK(wait_for_current_line(*yoda, std::string(text::command_prompt) + "whoelse"));
  yoda->send_line("");
  yoda->expect_line(text::no_other_users_online);
  yoda->send_line("logout");
  CHECK(yoda->wait_exit() == 0);
}

TEST_CASE("terminal: a pasted block of three lines is three lines, in the history too") {
  registry_fixture registry;
  const auto home = registry.new_home();
  auto yoda = logged_in_peer(registry, "yoda");
  auto luke = start_peer(registry, home);
  log_in(*luke, "luke", password_of("luke"));
  yoda->expect_line("luke logged in");

  // Bracketed paste, as a terminal sends it: the block between the markers, then Enter.
  luke->send_raw("\x1b[200~message yoda one\rmessage yoda two\rmessage yoda three\x1b[201~");
  luke->send_line("");
  yoda->expect_line("luke: one");
  yoda->expect_line("luke: two");
  yoda->expect_line("luke: three");
  luke->close_input();
  CHECK(luke->wait_exit() == 0);

  const auto history = read_file(home / ".local" / "state" / "parley" / "history");
  CHECK(history.find("message yoda one\nmessage yoda two\nmessage yoda three\n") !=
        std::string::npos);
  log_out(*yoda);
}

}  // namespace parley::e2e
