#include "bench/irc_line.hpp"

#include <doctest/doctest.h>

using namespace parley::bench;

TEST_CASE("irc: a relayed PRIVMSG gives the sender's nick, the target and the text") {
  const auto line = parse_irc_line(":b12!~b12@localhost PRIVMSG b13 :0000000c00 with: colons ");
  REQUIRE(line);
  CHECK(line->prefix == "b12!~b12@localhost");
  CHECK(line->nick == "b12");
  CHECK(line->command == "PRIVMSG");
  REQUIRE(line->param_count == 2);
  CHECK(line->param(0) == "b13");
  CHECK(line->last() == "0000000c00 with: colons ");
}

TEST_CASE("irc: numeric replies and their parameters") {
  const auto welcome =
      parse_irc_line(":irc.local 001 b0 :Welcome to the Internet Relay Network b0");
  REQUIRE(welcome);
  CHECK(welcome->nick == "irc.local");
  CHECK(welcome->is_numeric());
  CHECK(welcome->command == "001");
  CHECK(welcome->param(0) == "b0");
  CHECK(welcome->last() == "Welcome to the Internet Relay Network b0");

  const auto in_use = parse_irc_line(":irc.local 433 * b0 :Nickname is already in use");
  REQUIRE(in_use);
  CHECK(in_use->command == "433");
  CHECK(in_use->param_count == 3);
  CHECK(in_use->param(1) == "b0");

  const auto join = parse_irc_line(":b3!b3@127.0.0.1 JOIN :#bench");
  REQUIRE(join);
  CHECK(join->command == "JOIN");
  CHECK(join->nick == "b3");
  CHECK(join->last() == "#bench");
  CHECK_FALSE(join->is_numeric());
}

TEST_CASE("irc: PING without a prefix, and the PONG it needs") {
  const auto ping = parse_irc_line("PING :irc.example.net");
  REQUIRE(ping);
  CHECK(ping->prefix.empty());
  CHECK(ping->command == "PING");
  CHECK(ping->last() == "irc.example.net");
  std::string out = "earlier\r\n";
  append_pong(out, ping->last());
  CHECK(out == "earlier\r\nPONG :irc.example.net\r\n");
}

TEST_CASE("irc: lines are split on CR LF or a bare LF, and an unfinished one waits") {
  std::string_view data = "PING :a\r\n:s 001 x :hi\nPRIVMSG x :unfin";
  CHECK(take_irc_line(data) == std::string_view("PING :a"));
  CHECK(take_irc_line(data) == std::string_view(":s 001 x :hi"));
  CHECK_FALSE(take_irc_line(data));
  CHECK(data == "PRIVMSG x :unfin");
}

TEST_CASE("irc: odd lines do not break the parser") {
  CHECK_FALSE(parse_irc_line(""));
  CHECK_FALSE(parse_irc_line(":only.a.prefix"));
  const auto spaced = parse_irc_line(":n!u@h   NOTICE   b0   :  spaced text");
  REQUIRE(spaced);
  CHECK(spaced->command == "NOTICE");
  CHECK(spaced->param(0) == "b0");
  CHECK(spaced->last() == "  spaced text");
  // The 15th parameter takes the rest of the line, as RFC 2812 says.
  const auto many = parse_irc_line("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16");
  REQUIRE(many);
  CHECK(many->param_count == max_irc_params);
  CHECK(many->last() == "15 16");
}
