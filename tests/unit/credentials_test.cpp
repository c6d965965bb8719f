#include "registry/startup/credentials.hpp"

#include <doctest/doctest.h>

#include <string>

using parley::registry::credentials_file;
using parley::registry::parse_credentials;

namespace {

// The single problem of a one-problem parse, checked never to quote the password.
std::string only_problem(const credentials_file& parsed, std::size_t line,
                         std::string_view password) {
  REQUIRE(parsed.problems.size() == 1);
  CHECK(parsed.problems[0].line == line);
  CHECK_FALSE(parsed.problems[0].reason.empty());
  if (!password.empty()) CHECK(parsed.problems[0].reason.find(password) == std::string::npos);
  return parsed.problems[0].reason;
}

}  // namespace

TEST_CASE("credentials: well-formed lines in file order") {
  const auto parsed = parse_credentials("yoda wise0ne\nluke f0rce!\nhans falcon*solo\n");
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.entries.size() == 3);
  CHECK(parsed.entries[0].name == "yoda");
  CHECK(parsed.entries[0].password == "wise0ne");
  CHECK(parsed.entries[1].name == "luke");
  CHECK(parsed.entries[1].password == "f0rce!");
  CHECK(parsed.entries[2].name == "hans");
  CHECK(parsed.entries[2].password == "falcon*solo");
}

TEST_CASE("credentials: empty input, blank lines and a missing final newline") {
  CHECK(parse_credentials("").entries.empty());
  CHECK(parse_credentials("").problems.empty());
  CHECK(parse_credentials("\n\n  \n\t\n").problems.empty());

  const auto parsed = parse_credentials("\nyoda a\n\n   \nluke b");
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.entries.size() == 2);
  CHECK(parsed.entries[1].name == "luke");
  CHECK(parsed.entries[1].password == "b");
}

TEST_CASE("credentials: CRLF line endings and a UTF-8 byte order mark are accepted") {
  const auto parsed = parse_credentials("\xEF\xBB\xBFyoda wise\r\nluke force\r\n\r\n");
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.entries.size() == 2);
  CHECK(parsed.entries[0].name == "yoda");
  CHECK(parsed.entries[0].password == "wise");
  CHECK(parsed.entries[1].password == "force");
}

TEST_CASE("credentials: line numbers count blank lines, and a bad line does not stop the parse") {
  const auto parsed = parse_credentials("yoda a\n\nbroken\nluke b\n");
  REQUIRE(parsed.entries.size() == 2);
  CHECK(parsed.entries[1].name == "luke");
  only_problem(parsed, 3, "");
}

TEST_CASE("credentials: separators other than exactly one space") {
  SUBCASE("no separator") {
    const auto reason = only_problem(parse_credentials("yodasecret\n"), 1, "");
    CHECK(reason.find("no space") != std::string::npos);
  }
  SUBCASE("a tab") {
    const auto reason = only_problem(parse_credentials("yoda\tsecret\n"), 1, "secret");
    CHECK(reason.find("tab") != std::string::npos);
  }
  SUBCASE("two spaces") { only_problem(parse_credentials("yoda  secret\n"), 1, "secret"); }
  SUBCASE("a trailing space") { only_problem(parse_credentials("yoda secret \n"), 1, "secret"); }
  SUBCASE("a leading space") { only_problem(parse_credentials(" yoda secret\n"), 1, "secret"); }
  SUBCASE("three fields") { only_problem(parse_credentials("yoda secret extra\n"), 1, "secret"); }
  SUBCASE("no password") {
    const auto reason = only_problem(parse_credentials("yoda \n"), 1, "");
    CHECK(reason.find("password") != std::string::npos);
  }
  CHECK(parse_credentials("yoda  secret\n").entries.empty());
}

TEST_CASE("credentials: username length is 1..32") {
  const std::string longest(32, 'n');
  const auto parsed = parse_credentials(longest + " pw\n");
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.entries.size() == 1);
  CHECK(parsed.entries[0].name == longest);

  const auto reason =
      only_problem(parse_credentials(std::string(33, 'n') + " hunter22\n"), 1, "hunter22");
  CHECK(reason.find("username") != std::string::npos);
  CHECK(reason.find("32") != std::string::npos);
}

TEST_CASE("credentials: password length is 1..128, and the reason never quotes it") {
  const std::string longest(128, 'p');
  CHECK(parse_credentials("yoda " + longest + "\n").problems.empty());

  const std::string too_long = "S3cret" + std::string(123, 'q');
  REQUIRE(too_long.size() == 129);
  const auto reason = only_problem(parse_credentials("yoda " + too_long + "\n"), 1, "S3cret");
  CHECK(reason.find("password") != std::string::npos);
  CHECK(reason.find("128") != std::string::npos);
}

TEST_CASE("credentials: both fields must be visible ASCII") {
  SUBCASE("control character in the username") {
    const auto reason = only_problem(parse_credentials("yo\x01"
                                                       "da pw\n"),
                                     1, "");
    CHECK(reason.find("username") != std::string::npos);
  }
  SUBCASE("non-ASCII username") { only_problem(parse_credentials("j\xC3\xB6rg pw\n"), 1, ""); }
  SUBCASE("control character in the password") {
    const auto reason = only_problem(parse_credentials("yoda Se\x7f"
                                                       "cret\n"),
                                     1, "Se");
    CHECK(reason.find("password") != std::string::npos);
  }
  SUBCASE("a NUL byte in the password") {
    using namespace std::string_literals;
    only_problem(parse_credentials("yoda Sec\0ret\n"s), 1, "Sec");
  }
  SUBCASE("a lone carriage return inside the line") {
    only_problem(parse_credentials("yoda Sec\rret\n"), 1, "Sec");
  }
}

TEST_CASE("credentials: a repeated username keeps the first line and reports the others") {
  const auto parsed = parse_credentials("yoda first\nluke x\n\nyoda second\nyoda third\n");
  REQUIRE(parsed.entries.size() == 2);
  CHECK(parsed.entries[0].name == "yoda");
  CHECK(parsed.entries[0].password == "first");
  REQUIRE(parsed.problems.size() == 2);
  CHECK(parsed.problems[0].line == 4);
  CHECK(parsed.problems[0].reason.find("first defined on line 1") != std::string::npos);
  CHECK(parsed.problems[0].reason.find("second") == std::string::npos);
  CHECK(parsed.problems[1].line == 5);
  CHECK(parsed.problems[1].reason.find("first defined on line 1") != std::string::npos);
}

TEST_CASE("credentials: usernames are case-sensitive, so Yoda and yoda are two users") {
  const auto parsed = parse_credentials("yoda a\nYoda b\n");
  CHECK(parsed.problems.empty());
  CHECK(parsed.entries.size() == 2);
}

TEST_CASE("credentials: a bad first definition does not make a later good one a duplicate") {
  const auto parsed = parse_credentials("yoda\nyoda good\n");
  REQUIRE(parsed.entries.size() == 1);
  CHECK(parsed.entries[0].password == "good");
  only_problem(parsed, 1, "");
}
