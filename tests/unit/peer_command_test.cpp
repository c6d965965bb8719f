// The peer's command parser (SPEC 4): every command, argument counts, spaces, names, bodies.
#include "peer/core/command.hpp"

#include "shared/proto/messages.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>

using namespace parley::peer;

namespace {

command parsed(std::string_view line) {
  const auto result = parse_command(line);
  REQUIRE_MESSAGE(std::holds_alternative<command>(result), "line: ", std::string(line));
  return std::get<command>(result);
}

parse_error refused(std::string_view line) {
  const auto result = parse_command(line);
  REQUIRE_MESSAGE(std::holds_alternative<parse_error>(result), "line: ", std::string(line));
  return std::get<parse_error>(result);
}

}  // namespace

TEST_CASE("peer command: message keeps the rest of the line, spaces included") {
  CHECK(parsed("message luke hello there") == command{message_command{"luke", "hello there"}});
  CHECK(parsed("message luke  two  spaces ") == command{message_command{"luke", " two  spaces "}});
  CHECK(parsed("message luke x") == command{message_command{"luke", "x"}});
  CHECK(parsed("message luke tab\there") == command{message_command{"luke", "tab\there"}});
}

TEST_CASE("peer command: message argument errors") {
  CHECK(refused("message") == parse_error::invalid_command);
  CHECK(refused("message ") == parse_error::invalid_command);
  CHECK(refused("message luke") == parse_error::invalid_command);
  // Tab completion leaves a space after the name: still no message.
  CHECK(refused("message luke ") == parse_error::invalid_command);
  CHECK(refused("message luke    ") == parse_error::invalid_command);
  CHECK(refused("message  luke hi") == parse_error::invalid_command);
  CHECK(refused("messageluke hi") == parse_error::invalid_command);
  CHECK(refused("Message luke hi") == parse_error::invalid_command);
}

TEST_CASE("peer command: a <user> no account can have is an invalid user") {
  CHECK(refused("message " + std::string(33, 'a') + " hi") == parse_error::invalid_user);
  CHECK(refused("message l\x1buke hi") == parse_error::invalid_user);
  CHECK(refused("message j\xc3\xb6rg hi") == parse_error::invalid_user);
  CHECK(refused("block " + std::string(33, 'a')) == parse_error::invalid_user);
  CHECK(refused("unblock a\x7f") == parse_error::invalid_user);
  CHECK(refused("startprivate \x01") == parse_error::invalid_user);
  CHECK(refused("private \tx hi") == parse_error::invalid_user);
  CHECK(refused("stopprivate a\x1b") == parse_error::invalid_user);
  CHECK(parsed("block " + std::string(32, 'a')) == command{block_command{std::string(32, 'a')}});
  CHECK(parsed("message a@b.c!~ hi") == command{message_command{"a@b.c!~", "hi"}});
}

TEST_CASE("peer command: message bodies are bounded UTF-8") {
  const std::string longest(parley::proto::max_text_bytes, 'x');
  CHECK(parsed("message luke " + longest) == command{message_command{"luke", longest}});
  CHECK(refused("message luke " + longest + "x") == parse_error::message_too_long);
  CHECK(refused("broadcast " + longest + "x") == parse_error::message_too_long);
  CHECK(refused("private luke " + longest + "x") == parse_error::message_too_long);
  CHECK(refused("message luke caf\xc3") == parse_error::message_not_utf8);
  CHECK(refused("broadcast \xff") == parse_error::message_not_utf8);
  CHECK(refused("private luke \xed\xa0\x80") == parse_error::message_not_utf8);
  CHECK(parsed("message luke caf\xc3\xa9 \xf0\x9f\x99\x82") ==
        command{message_command{"luke", "caf\xc3\xa9 \xf0\x9f\x99\x82"}});
}

TEST_CASE("peer command: broadcast") {
  CHECK(parsed("broadcast hello all") == command{broadcast_command{"hello all"}});
  CHECK(parsed("broadcast  lead") == command{broadcast_command{" lead"}});
  CHECK(refused("broadcast") == parse_error::invalid_command);
  CHECK(refused("broadcast ") == parse_error::invalid_command);
  CHECK(refused("broadcast   ") == parse_error::invalid_command);
  CHECK(refused("broadcast \t") == parse_error::invalid_command);
}

TEST_CASE("peer command: commands without a text tail ignore trailing spaces only") {
  CHECK(parsed("whoelse") == command{whoelse_command{}});
  CHECK(parsed("whoelse ") == command{whoelse_command{}});
  CHECK(parsed("whoelse   ") == command{whoelse_command{}});
  CHECK(parsed("logout") == command{logout_command{}});
  CHECK(parsed("logout ") == command{logout_command{}});
  CHECK(parsed("help") == command{help_command{}});
  CHECK(parsed("help ") == command{help_command{}});
  CHECK(parsed("block luke") == command{block_command{"luke"}});
  CHECK(parsed("block luke ") == command{block_command{"luke"}});
  CHECK(parsed("unblock luke  ") == command{unblock_command{"luke"}});
  CHECK(parsed("stopprivate luke ") == command{stopprivate_command{"luke"}});
  CHECK(refused(" whoelse") == parse_error::invalid_command);
  CHECK(refused("whoelse luke") == parse_error::invalid_command);
  CHECK(refused("logout now") == parse_error::invalid_command);
  CHECK(refused("help me") == parse_error::invalid_command);
  CHECK(refused("block") == parse_error::invalid_command);
  CHECK(refused("block ") == parse_error::invalid_command);
  CHECK(refused("block luke leia") == parse_error::invalid_command);
  CHECK(refused("block  luke") == parse_error::invalid_command);
  CHECK(refused("unblock") == parse_error::invalid_command);
  CHECK(refused("stopprivate") == parse_error::invalid_command);
  CHECK(refused("startprivate") == parse_error::invalid_command);
  CHECK(refused("whoelse\tx") == parse_error::invalid_command);
}

TEST_CASE("peer command: one trailing carriage return is ignored") {
  CHECK(parsed("whoelse\r") == command{whoelse_command{}});
  CHECK(parsed("block luke\r") == command{block_command{"luke"}});
  CHECK(parsed("message luke hi\r") == command{message_command{"luke", "hi"}});
  CHECK(parsed("message luke hi\r\r") == command{message_command{"luke", "hi\r"}});
  CHECK(refused("message luke \r") == parse_error::invalid_command);
  CHECK(strip_carriage_return("x\r") == "x");
  CHECK(strip_carriage_return("x") == "x");
  CHECK(is_blank(""));
  CHECK(is_blank("   \r"));
  CHECK_FALSE(is_blank(" x "));
}

TEST_CASE("peer command: whoelsesince takes digits only, and saturates") {
  CHECK(parsed("whoelsesince 0") == command{whoelsesince_command{0}});
  CHECK(parsed("whoelsesince 60") == command{whoelsesince_command{60}});
  CHECK(parsed("whoelsesince 007 ") == command{whoelsesince_command{7}});
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  CHECK(parsed("whoelsesince 18446744073709551615") == command{whoelsesince_command{max}});
  CHECK(parsed("whoelsesince 18446744073709551616") == command{whoelsesince_command{max}});
  CHECK(parsed("whoelsesince " + std::string(200, '9')) == command{whoelsesince_command{max}});
  CHECK(refused("whoelsesince") == parse_error::invalid_command);
  CHECK(refused("whoelsesince ") == parse_error::invalid_command);
  CHECK(refused("whoelsesince -1") == parse_error::invalid_command);
  CHECK(refused("whoelsesince +1") == parse_error::invalid_command);
  CHECK(refused("whoelsesince 1.5") == parse_error::invalid_command);
  CHECK(refused("whoelsesince 10s") == parse_error::invalid_command);
  CHECK(refused("whoelsesince ten") == parse_error::invalid_command);
  CHECK(refused("whoelsesince 1 2") == parse_error::invalid_command);
  CHECK(refused("whoelsesince  1") == parse_error::invalid_command);
}

TEST_CASE("peer command: private chat commands parse") {
  CHECK(parsed("startprivate luke") == command{startprivate_command{"luke"}});
  CHECK(parsed("privatestart luke ") == command{startprivate_command{"luke"}});
  CHECK(parsed("private luke a secret ") == command{private_command{"luke", "a secret "}});
  CHECK(parsed("stopprivate luke") == command{stopprivate_command{"luke"}});
  CHECK(refused("private luke") == parse_error::invalid_command);
  CHECK(refused("private luke ") == parse_error::invalid_command);
  CHECK(refused("private") == parse_error::invalid_command);
  CHECK(refused("startprivate luke leia") == parse_error::invalid_command);
  CHECK(parsed("verify luke") == command{verify_command{"luke"}});
  CHECK(parsed("verify luke ") == command{verify_command{"luke"}});
  CHECK(refused("verify") == parse_error::invalid_command);
  CHECK(refused("verify luke leia") == parse_error::invalid_command);
  CHECK(refused("verify lu\x01ke") == parse_error::invalid_user);
  // Answered by the peer itself, like private.
  CHECK_FALSE(needs_registry_answer(verify_command{"luke"}));
}

TEST_CASE("peer command: unknown lines") {
  CHECK(refused("") == parse_error::invalid_command);
  CHECK(refused("hello") == parse_error::invalid_command);
  CHECK(refused("whoelse2") == parse_error::invalid_command);
  CHECK(refused("WHOELSE") == parse_error::invalid_command);
  CHECK(refused(std::string("whoelse\0", 8)) == parse_error::invalid_command);
}

TEST_CASE("peer command: every error has its text") {
  CHECK(describe(parse_error::invalid_command) == "Error. Invalid command");
  CHECK(describe(parse_error::invalid_user) == "Error. Invalid user");
  CHECK(describe(parse_error::message_too_long) == "Error. Message too long");
  CHECK(describe(parse_error::message_not_utf8) == "Error. Message is not valid UTF-8");
}

TEST_CASE("peer command: the table lists every command once, help last") {
  const auto table = command_table();
  REQUIRE(table.size() == 12);
  CHECK(table.back().name == "help");
  for (const auto& info : table) {
    // Each listed name is a command the parser knows (with a valid argument where one is due).
    std::string line(info.name);
    if (info.arguments == "<user> <message>")
      line += " luke hi";
    else if (info.arguments == "<user>")
      line += " luke";
    else if (info.arguments == "<message>")
      line += " hi";
    else if (info.arguments == "<seconds>")
      line += " 5";
    CHECK_MESSAGE(std::holds_alternative<command>(parse_command(line)), line);
    // Its example runs it, and help knows it by name.
    const auto example = parse_command(info.example);
    CHECK_MESSAGE(std::holds_alternative<command>(example), info.example);
    CHECK_MESSAGE(std::get<command>(example).index() == parsed(line).index(), info.example);
    CHECK(parsed("help " + std::string(info.name)) ==
          command{help_command{std::string(info.name)}});
  }
}

TEST_CASE("peer command: help takes one command name, or an alias for it") {
  CHECK(parsed("help") == command{help_command{}});
  CHECK(parsed("help whoelse") == command{help_command{"whoelse"}});
  CHECK(parsed("help privatestart") == command{help_command{"startprivate"}});
  CHECK(parsed("help help ") == command{help_command{"help"}});
  CHECK(refused("help nothing") == parse_error::invalid_command);
  CHECK(refused("help whoelse whoelse") == parse_error::invalid_command);
  CHECK(refused("help Message") == parse_error::invalid_command);
}

TEST_CASE("peer command: the hint after Error. Invalid command") {
  // A command's name with wrong arguments: its usage.
  CHECK(invalid_command_hint("message luke") == "Usage: message <user> <message>");
  CHECK(invalid_command_hint("whoelse now") == "Usage: whoelse");
  CHECK(invalid_command_hint("whoelsesince soon") == "Usage: whoelsesince <seconds>");
  CHECK(invalid_command_hint("privatestart") == "Usage: startprivate <user>");
  CHECK(invalid_command_hint("help a b") == "Usage: help [<command>]");
  // A typo: one slip in a short word, two in a longer one; swaps, case, a prefix.
  CHECK(invalid_command_hint("lgout") == "Did you mean logout?");
  CHECK(invalid_command_hint("mesage luke hi") == "Did you mean message?");
  CHECK(invalid_command_hint("mesasge luke hi") == "Did you mean message?");
  CHECK(invalid_command_hint("Whoelse") == "Did you mean whoelse?");
  CHECK(invalid_command_hint("whoelesince 5") == "Did you mean whoelsesince?");
  CHECK(invalid_command_hint("blok vader") == "Did you mean block?");
  CHECK(invalid_command_hint("who") == "Did you mean whoelse?");
  CHECK(invalid_command_hint("hlep") == "Did you mean help?");
  CHECK(invalid_command_hint("privatestrat luke") == "Did you mean startprivate?");
  CHECK(invalid_command_hint("help mesage") == "Did you mean help message?");
  // Nothing close: no hint rather than a guess.
  CHECK_FALSE(invalid_command_hint("nonsense").has_value());
  CHECK_FALSE(invalid_command_hint("hello there").has_value());
  CHECK_FALSE(invalid_command_hint("bogus").has_value());
  CHECK_FALSE(invalid_command_hint("hi").has_value());
  CHECK_FALSE(invalid_command_hint("x").has_value());
  CHECK_FALSE(invalid_command_hint(std::string(5000, 'm')).has_value());
  CHECK_FALSE(invalid_command_hint(" whoelse").has_value());
}
