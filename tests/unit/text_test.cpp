// Text rules: names, passwords, UTF-8, and escaping received text for the terminal.
#include "shared/proto/text.hpp"

#include "shared/proto/messages.hpp"

#include <doctest/doctest.h>

#include <string>

namespace proto = parley::proto;

TEST_CASE("is_valid_name: 1..32 visible ASCII characters") {
  CHECK(proto::is_valid_name("yoda"));
  CHECK(proto::is_valid_name("a"));
  CHECK(proto::is_valid_name("R2-D2_(astromech)!~"));
  CHECK(proto::is_valid_name(std::string(proto::max_name_bytes, 'z')));
  CHECK_FALSE(proto::is_valid_name(""));
  CHECK_FALSE(proto::is_valid_name(std::string(proto::max_name_bytes + 1, 'z')));
  CHECK_FALSE(proto::is_valid_name("luke skywalker"));
  CHECK_FALSE(proto::is_valid_name(" luke"));
  CHECK_FALSE(proto::is_valid_name("luke\t"));
  CHECK_FALSE(proto::is_valid_name("luke\n"));
  CHECK_FALSE(proto::is_valid_name(std::string("lu\0ke", 5)));
  CHECK_FALSE(proto::is_valid_name("luke\x7f"));
  CHECK_FALSE(proto::is_valid_name("l\xc3\xbcke"));  // ü
}

TEST_CASE("is_valid_new_password: 1..128 visible ASCII characters") {
  CHECK(proto::is_valid_new_password("falcon"));
  CHECK(proto::is_valid_new_password("p@$$w0rd!{}"));
  CHECK(proto::is_valid_new_password(std::string(proto::max_password_bytes, '#')));
  CHECK_FALSE(proto::is_valid_new_password(""));
  CHECK_FALSE(proto::is_valid_new_password(std::string(proto::max_password_bytes + 1, '#')));
  CHECK_FALSE(proto::is_valid_new_password("two words"));
  CHECK_FALSE(proto::is_valid_new_password("tab\there"));
  CHECK_FALSE(proto::is_valid_new_password("caf\xc3\xa9"));
}

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8") {
  CHECK(proto::is_valid_utf8(""));
  CHECK(proto::is_valid_utf8("plain ASCII"));
  CHECK(proto::is_valid_utf8("h\xc3\xa9llo \xe2\x9c\x93"));     // héllo ✓
  CHECK(proto::is_valid_utf8("\xf0\x9f\x98\x80"));              // U+1F600
  CHECK(proto::is_valid_utf8("\xc2\x80"));                      // U+0080, lowest two-byte
  CHECK(proto::is_valid_utf8("\xe0\xa0\x80"));                  // U+0800, lowest three-byte
  CHECK(proto::is_valid_utf8("\xef\xbf\xbf"));                  // U+FFFF
  CHECK(proto::is_valid_utf8("\xf0\x90\x80\x80"));              // U+10000, lowest four-byte
  CHECK(proto::is_valid_utf8("\xf4\x8f\xbf\xbf"));              // U+10FFFF, the last
  CHECK(proto::is_valid_utf8("\xed\x9f\xbf"));                  // U+D7FF, just below surrogates
  CHECK(proto::is_valid_utf8("\xee\x80\x80"));                  // U+E000, just above them
  CHECK(proto::is_valid_utf8(std::string("nul\0inside", 10)));  // NUL is valid UTF-8
}

TEST_CASE("is_valid_utf8 refuses malformed UTF-8") {
  CHECK_FALSE(proto::is_valid_utf8("\xc0\x80"));              // overlong NUL
  CHECK_FALSE(proto::is_valid_utf8("\xc1\xbf"));              // overlong two-byte
  CHECK_FALSE(proto::is_valid_utf8("\xe0\x9f\xbf"));          // overlong three-byte
  CHECK_FALSE(proto::is_valid_utf8("\xf0\x8f\xbf\xbf"));      // overlong four-byte
  CHECK_FALSE(proto::is_valid_utf8("\xed\xa0\x80"));          // U+D800
  CHECK_FALSE(proto::is_valid_utf8("\xed\xbf\xbf"));          // U+DFFF
  CHECK_FALSE(proto::is_valid_utf8("\xf4\x90\x80\x80"));      // U+110000
  CHECK_FALSE(proto::is_valid_utf8("\xf7\xbf\xbf\xbf"));      // U+1FFFFF
  CHECK_FALSE(proto::is_valid_utf8("\xf8\x88\x80\x80\x80"));  // five-byte form
  CHECK_FALSE(proto::is_valid_utf8("\xe2\x9c"));              // truncated at the end
  CHECK_FALSE(
      proto::is_valid_utf8("\xe2\x9c"
                           "a"));             // truncated before ASCII
  CHECK_FALSE(proto::is_valid_utf8("\x80"));  // lone continuation
  CHECK_FALSE(proto::is_valid_utf8("\xc3"));  // lead byte alone
  CHECK_FALSE(proto::is_valid_utf8("\xfe"));
  CHECK_FALSE(proto::is_valid_utf8("\xff"));
}

TEST_CASE("has_ascii_control finds C0 controls and DEL only") {
  CHECK_FALSE(proto::has_ascii_control(""));
  CHECK_FALSE(proto::has_ascii_control("visible ~ text"));
  CHECK_FALSE(proto::has_ascii_control("h\xc3\xa9llo"));
  CHECK_FALSE(proto::has_ascii_control("\xc2\x9b"));  // C1 is not ASCII
  CHECK(proto::has_ascii_control("tab\t"));
  CHECK(proto::has_ascii_control("line\n"));
  CHECK(proto::has_ascii_control("\x1b[2J"));
  CHECK(proto::has_ascii_control("del\x7f"));
  CHECK(proto::has_ascii_control(std::string("\0", 1)));
  CHECK(proto::has_ascii_control("\x1f"));
}

TEST_CASE("escape_for_terminal leaves plain text alone") {
  CHECK(proto::escape_for_terminal("") == "");
  CHECK(proto::escape_for_terminal("hello, world") == "hello, world");
  CHECK(proto::escape_for_terminal("h\xc3\xa9llo \xe2\x9c\x93") == "h\xc3\xa9llo \xe2\x9c\x93");
  CHECK(proto::escape_for_terminal("\xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87") ==
        "\xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87");
  CHECK(proto::escape_for_terminal("a\tb") == "a\tb");  // tab is kept
  CHECK(proto::escape_for_terminal("back\\slash") == "back\\slash");
}

TEST_CASE("escape_for_terminal writes out every control a terminal would act on") {
  CHECK(proto::escape_for_terminal("\x1b") == "\\e");
  CHECK(proto::escape_for_terminal("\x1b[2J\x1b[H") == "\\e[2J\\e[H");  // clear screen, home
  CHECK(proto::escape_for_terminal("\x1b]0;title\x07") == "\\e]0;title\\x07");  // OSC, BEL
  CHECK(proto::escape_for_terminal("one\ntwo") == "one\\ntwo");
  CHECK(proto::escape_for_terminal("over\rwrite") == "over\\rwrite");
  CHECK(proto::escape_for_terminal("del\x7f") == "del\\x7f");
  CHECK(proto::escape_for_terminal("bs\x08") == "bs\\x08");
  CHECK(proto::escape_for_terminal(std::string("nul\0", 4)) == "nul\\x00");
  // C1 controls: U+009B is a one-character CSI on some terminals; U+0085 is NEL.
  CHECK(proto::escape_for_terminal("\xc2\x9b"
                                   "2J") == "\\x9b2J");
  CHECK(proto::escape_for_terminal("\xc2\x85") == "\\x85");
  CHECK(proto::escape_for_terminal("\xc2\x80\xc2\x9f") == "\\x80\\x9f");
  CHECK(proto::escape_for_terminal("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is printable
}

TEST_CASE("escape_for_terminal writes out bidirectional controls") {
  CHECK(proto::escape_for_terminal("abc\xe2\x80\xae"
                                   "fed") == "abc\\u202efed");     // RLO
  CHECK(proto::escape_for_terminal("\xe2\x80\xaa") == "\\u202a");  // LRE
  CHECK(proto::escape_for_terminal("\xe2\x81\xa6") == "\\u2066");  // LRI
  CHECK(proto::escape_for_terminal("\xe2\x81\xa9") == "\\u2069");  // PDI
  CHECK(proto::escape_for_terminal("\xe2\x80\x8f") == "\\u200f");  // RLM
  CHECK(proto::escape_for_terminal("\xd8\x9c") == "\\u061c");      // ALM
}

TEST_CASE("escape_for_terminal writes out bytes that are not UTF-8") {
  CHECK(proto::escape_for_terminal("\xff") == "\\xff");
  CHECK(proto::escape_for_terminal("a\x80z") == "a\\x80z");
  CHECK(proto::escape_for_terminal("\xc0\xaf") == "\\xc0\\xaf");           // overlong
  CHECK(proto::escape_for_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
  CHECK(proto::escape_for_terminal("ok\xe2\x9c") == "ok\\xe2\\x9c");       // truncated
  // A truncated lead byte before ESC does not swallow the ESC.
  CHECK(proto::escape_for_terminal("\xe2\x1b[2J") == "\\xe2\\e[2J");
  // The output is always valid UTF-8 with no control other than tab.
  const std::string nasty = "\xc2\x9b\x1b\xff\xe2\x80\xae\x7f\n\r\xed\xa0\x80\xf4\x90\x80\x80";
  const auto safe = proto::escape_for_terminal(nasty);
  CHECK(proto::is_valid_utf8(safe));
  CHECK_FALSE(proto::has_ascii_control(safe));
}

TEST_CASE(
    "is_valid_utf8 reads long ASCII runs eight bytes at a time, and every position still counts") {
  // Whatever its offset from an eight-byte boundary, and whatever ASCII surrounds it, a bad byte
  // or a sequence split across the fast path and the slow one is judged the same.
  const std::string ascii(40, 'a');
  for (std::size_t before = 0; before <= 17; ++before) {
    const std::string head = ascii.substr(0, before);
    CAPTURE(before);
    CHECK(proto::is_valid_utf8(head + ascii));
    CHECK(proto::is_valid_utf8(head + "\xe2\x9c\x93" + ascii));        // ✓ inside ASCII
    CHECK(proto::is_valid_utf8(head + "\xf0\x9f\x98\x80"));            // U+1F600 at the end
    CHECK_FALSE(proto::is_valid_utf8(head + "\xff" + ascii));          // never valid
    CHECK_FALSE(proto::is_valid_utf8(head + "\x80" + ascii));          // lone continuation
    CHECK_FALSE(proto::is_valid_utf8(head + "\xe2\x9c"));              // truncated at the end
    CHECK_FALSE(proto::is_valid_utf8(head + "\xe2\x9c" + ascii));      // truncated before ASCII
    CHECK_FALSE(proto::is_valid_utf8(head + "\xed\xa0\x80" + ascii));  // a surrogate
    CHECK_FALSE(proto::is_valid_utf8(ascii + head + "\xc0\x80"));      // overlong, after a run
  }
}
