// Every command's error texts (SPEC 4), invalid commands, and the message size bound.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>

namespace parley::e2e {

namespace {

using lines = std::vector<std::string>;

lines one(std::string_view line) { return lines{std::string(line)}; }

// Error. Invalid command, then its hint line (SPEC 4: a hint may follow, never precede).
lines invalid(std::string_view hint) {
  return lines{std::string(text::invalid_command), std::string(hint)};
}
constexpr std::string_view since_usage = "Usage: whoelsesince <seconds>";

}  // namespace

TEST_CASE("commands: errors of message and broadcast and whoelse and whoelsesince") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  CHECK(answer_to(*yoda, "message yoda Talking to myself") == one(text::cannot_message_self));
  CHECK(answer_to(*yoda, "message nobody Hello") == one(text::invalid_user));
  CHECK(answer_to(*yoda, "message luke") == invalid("Usage: message <user> <message>"));
  CHECK(answer_to(*yoda, "message") == invalid("Usage: message <user> <message>"));
  CHECK(answer_to(*yoda, "broadcast") == invalid("Usage: broadcast <message>"));
  CHECK(answer_to(*yoda, "whoelse luke") == invalid("Usage: whoelse"));
  CHECK(answer_to(*yoda, "whoelsesince") == invalid(since_usage));
  CHECK(answer_to(*yoda, "whoelsesince soon") == invalid(since_usage));
  CHECK(answer_to(*yoda, "whoelsesince -5") == invalid(since_usage));
  CHECK(answer_to(*yoda, "whoelsesince 1.5") == invalid(since_usage));
  CHECK(answer_to(*yoda, "whoelsesince 10 20") == invalid(since_usage));
  CHECK(answer_to(*yoda, "logout now") == invalid("Usage: logout"));
  CHECK(answer_to(*yoda, "hello there") == one(text::invalid_command));
  // A number too large to represent means since ever.
  CHECK(answer_to(*yoda, "whoelsesince 123456789012345678901234567890") == lines{"luke"});
  // A typo gets the command it meant; nothing close, no hint.
  CHECK(answer_to(*yoda, "mesage luke hi") == invalid("Did you mean message?"));
  CHECK(answer_to(*yoda, "Whoelse") == invalid("Did you mean whoelse?"));
  // help <command>: the usage, what it does, an example.
  CHECK(answer_to(*yoda, "help whoelsesince") ==
        lines{"Usage: whoelsesince <seconds>", "List the users online in the past <seconds>",
              "Example: whoelsesince 600"});
  CHECK(answer_to(*yoda, "help mesage") == invalid("Did you mean help message?"));
  // help is answered by the peer: one line per command.
  const auto help = answer_to(*yoda, "help");
  CHECK(help.size() >= 10);
  for (const auto* command : {"message", "broadcast", "whoelse", "whoelsesince", "block", "unblock",
                              "logout", "startprivate", "private", "stopprivate"}) {
    INFO(command);
    CHECK(std::any_of(help.begin(), help.end(), [&](const std::string& line) {
      return line.find(command) != std::string::npos;
    }));
  }

  // None of that was sent to luke, and a valid message still goes through.
  CHECK(answer_to(*yoda, "message luke Still here") == lines{});
  luke->expect_line("yoda: Still here");
  CHECK(luke->output().text().find("Talking to myself") == std::string::npos);
  log_out(*yoda);
  log_out(*luke);
}

TEST_CASE("commands: block and unblock errors") {
  registry_fixture registry;
  auto yoda = logged_in_peer(registry, "yoda");

  CHECK(answer_to(*yoda, "block yoda") == one(text::cannot_block_self));
  CHECK(answer_to(*yoda, "block nobody") == one(text::invalid_user));
  CHECK(answer_to(*yoda, "block") == invalid("Usage: block <user>"));
  CHECK(answer_to(*yoda, "block luke hans") == invalid("Usage: block <user>"));
  // Offline users can be blocked.
  CHECK(answer_to(*yoda, "block luke") == lines{"luke is blocked"});
  CHECK(answer_to(*yoda, "block luke") == lines{"Error. luke is already blocked"});

  CHECK(answer_to(*yoda, "unblock yoda") == one(text::cannot_unblock_self));
  CHECK(answer_to(*yoda, "unblock nobody") == one(text::invalid_user));
  CHECK(answer_to(*yoda, "unblock") == invalid("Usage: unblock <user>"));
  CHECK(answer_to(*yoda, "unblock luke") == lines{"luke is unblocked"});
  CHECK(answer_to(*yoda, "unblock luke") == lines{"Error. luke was not blocked"});
  CHECK(answer_to(*yoda, "unblock hans") == lines{"Error. hans was not blocked"});
  log_out(*yoda);
}

TEST_CASE("commands: private chat commands without an open chat") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");

  CHECK(answer_to(*yoda, "private luke Psst") ==
        lines{"Error. Private messaging to luke not enabled"});
  CHECK(answer_to(*yoda, "stopprivate luke") ==
        lines{"Error. Private messaging to luke not enabled"});
  CHECK(answer_to(*yoda, "private luke") == invalid("Usage: private <user> <message>"));
  CHECK(answer_to(*yoda, "startprivate") == invalid("Usage: startprivate <user>"));
  CHECK(answer_to(*yoda, "stopprivate") == invalid("Usage: stopprivate <user>"));
  log_out(*yoda);
  log_out(*luke);
}

TEST_CASE("commands: an account created at run time is a valid user at once") {
  registry_fixture registry;
  auto rey = start_peer(registry);
  create_account(*rey, "rey", "scavenger");
  log_out(*rey);

  auto yoda = logged_in_peer(registry, "yoda");
  CHECK(answer_to(*yoda, "message rey Welcome, young one").empty());
  CHECK(answer_to(*yoda, "whoelsesince 600") == lines{"rey"});

  rey = start_peer(registry);
  log_in(*rey, "rey", "scavenger");
  rey->expect_line("yoda: Welcome, young one");
  yoda->expect_line("rey logged in");
  log_out(*rey);
  log_out(*yoda);
}

TEST_CASE("commands: a body over 4096 bytes is refused and one of 4096 bytes goes through") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");
  const std::string longest(proto::max_text_bytes, 'x');
  const std::string too_long(proto::max_text_bytes + 1, 'y');

  // A line over the peer's own input bound (16 KiB) is refused as well, and skipped up to its
  // newline; blank lines are skipped silently.
  const std::string over_line_bound = "message luke " + std::string(20 * 1024, 'z');
  auto yoda = start_scripted_peer(registry, "yoda\nwise\nmessage luke " + too_long +
                                                "\nbroadcast " + too_long + "\n" + over_line_bound +
                                                "\n\n   \nmessage luke " + longest + "\nlogout\n");
  CHECK(yoda->wait_exit() == 0);
  const auto refused = std::string(text::message_too_long) + "\n";
  CHECK(yoda->raw_output() == scripted_welcome() + refused + refused + refused);
  luke->expect_line("yoda: " + longest);
  // Nothing of the refused bodies reached luke.
  CHECK(luke->output().text().find("yyyyyyyy") == std::string::npos);
  CHECK(luke->output().text().find("zzzzzzzz") == std::string::npos);
  log_out(*luke);
}

}  // namespace parley::e2e
