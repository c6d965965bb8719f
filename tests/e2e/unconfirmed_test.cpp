// SPEC 6, last paragraph: a command in flight when the registry connection is lost is named to
// the user, `Error. Not confirmed by the registry: <the command line>`, one line per command,
// after the lost-connection line, in the order they were typed. The registry is frozen with
// SIGSTOP (so nothing typed is answered), then killed with SIGKILL.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace parley::e2e {
namespace {

using lines = std::vector<std::string>;

std::string not_confirmed(std::string_view line) {
  return "Error. Not confirmed by the registry: " + std::string(line);
}

// Types `line` and waits until the peer's terminal has taken it: readline ends the echoed line
// before it hands the line to the peer, in the same step, so the peer has handled it before it
// looks at its registry connection again.
void type_and_wait(child_process& peer, std::string_view line) {
  peer.send_line(line);
  peer.expect_line(std::string(text::command_prompt) + std::string(line));
}

}  // namespace

TEST_CASE("registry lost: the commands it had not answered are named, in the order typed") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  // Answered before the loss: never named.
  CHECK(answer_to(*yoda, "whoelse") == lines{"luke"});
  // Its answer is awaited (answer_to): seen by luke is not yet confirmed to yoda.
  CHECK(answer_to(*yoda, "message luke got this one").empty());
  luke->expect_line("yoda: got this one");

  {
    const stopped_process frozen(registry.process());
    type_and_wait(*yoda, "message luke are you there?");
    type_and_wait(*yoda, "broadcast anyone?");
    registry.kill9();
  }
  yoda->expect_line(text::lost_registry);
  yoda->expect_line(not_confirmed("message luke are you there?"));
  yoda->expect_line(not_confirmed("broadcast anyone?"));
  yoda->expect_line(text::reconnecting_hint);
  // Back on the same port: the session is resumed, and the commands work again (SPEC 11); what
  // was named is not sent again.
  registry.start_on_same_port();
  yoda->expect_line(text::reconnected, reconnect_timeout);
  luke->expect_line(text::reconnected, reconnect_timeout);
  yoda->send_line("message luke after the restart");
  luke->expect_line("yoda: after the restart");
  // Exactly those, once each, and nothing named for what was answered.
  const auto all = yoda->output().text();
  CHECK(all.find("Not confirmed by the registry: whoelse") == std::string::npos);
  CHECK(all.find("Not confirmed by the registry: message luke got this one") == std::string::npos);
  CHECK(all.find(not_confirmed("broadcast anyone?")) ==
        all.rfind(not_confirmed("broadcast anyone?")));
}

TEST_CASE(
    "registry lost: with a private chat open, the unanswered commands come before the "
    "chats hint") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  open_private_chat(yoda, luke);
  {
    const stopped_process frozen(registry.process());
    type_and_wait(*yoda, "block vader");
    // A private line passes the wait and is not the registry's to confirm.
    yoda->send_line("private luke while it sleeps");
    luke->expect_line(text::private_text("yoda", "while it sleeps"));
    type_and_wait(*yoda, "whoelsesince 60");
    registry.kill9();
  }
  yoda->expect_line(text::lost_registry);
  yoda->expect_line(not_confirmed("block vader"));
  yoda->expect_line(not_confirmed("whoelsesince 60"));
  yoda->expect_line(text::reconnecting_hint);
  // The chat goes on, and nothing is tried again without the registry.
  yoda->send_line("private luke still here");
  luke->expect_line(text::private_text("yoda", "still here"));
  CHECK(answer_to(*yoda, "whoelse") ==
        lines{std::string(text::not_connected), std::string(text::not_connected_hint)});
  CHECK(yoda->output().text().find("Not confirmed by the registry: private") == std::string::npos);
}

}  // namespace parley::e2e
