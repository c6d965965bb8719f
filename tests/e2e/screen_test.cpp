// The harness's terminal rendering, checked on the sequences readline really emits.
#include "tests/e2e/screen.hpp"

#include <doctest/doctest.h>

using parley::e2e::screen;

TEST_CASE("screen: escape sequences and carriage returns do not show") {
  screen s;
  s.feed("\x1b[?2004hUsername: yoda\r\n\x1b[?2004l\x1b]0;title\x07Password: ");
  REQUIRE(s.lines().size() == 1);
  CHECK(s.lines()[0] == "Username: yoda");
  CHECK(s.current_line() == "Password: ");
}

TEST_CASE("screen: a line redrawn above the prompt keeps the half-typed text below it") {
  screen s;
  s.feed("> message yoda hel");
  // Clear the line, print the message, redraw the prompt and the typed text.
  s.feed("\r\x1b[Kluke: hi\r\n> message yoda hel");
  REQUIRE(s.lines().size() == 1);
  CHECK(s.lines()[0] == "luke: hi");
  CHECK(s.current_line() == "> message yoda hel");
}

TEST_CASE("screen: a sequence split across reads is still recognised") {
  screen s;
  s.feed("ab\x1b[");
  s.feed("2Dx\x1b");
  s.feed("[Kc\n");
  REQUIRE(s.lines().size() == 1);
  CHECK(s.lines()[0] == "xc");
}

TEST_CASE("screen: the read mark moves past each match") {
  screen s;
  s.feed("Password: \r\nInvalid Password. Please try again\r\nPassword: ");
  CHECK(s.consume("Password: "));
  CHECK(s.consume("Password: "));
  CHECK_FALSE(s.consume("Password: "));
  CHECK_FALSE(s.consume_line("Invalid Password. Please try again"));
}

TEST_CASE("screen: a prompt redrawn with other text since it was matched is unread again") {
  screen s;
  s.feed("> ");
  CHECK(s.consume("> "));
  s.feed("\r\x1b[Kluke logged in\r\n> ");
  CHECK(s.consume_line("luke logged in"));
}

TEST_CASE("screen: whole lines match whole lines only") {
  screen s;
  s.feed("No other users online\nluke\n");
  CHECK_FALSE(s.consume_line("No other users"));
  CHECK(s.consume_line("luke"));
}
