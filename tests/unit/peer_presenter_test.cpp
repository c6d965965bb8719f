// How the peer shows its lines (issue 12): timestamps, a colour per name, the bell, the send
// time of an offline message, and the --json events, with the clock passed in.
#include "peer/tui/presenter.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

using namespace parley::peer;
using namespace std::chrono_literals;

namespace {

// Local time is UTC in these tests; the process's TZ is put back after each.
struct utc_zone {
  utc_zone() {
    if (const char* zone = std::getenv("TZ")) saved = zone;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  ~utc_zone() {
    if (saved) {
      ::setenv("TZ", saved->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  utc_zone(const utc_zone&) = delete;
  utc_zone& operator=(const utc_zone&) = delete;
  std::optional<std::string> saved;
};

// 2026-12-04 17:05:03.250 UTC.
const auto now = wall_clock::time_point(std::chrono::seconds(1796403903) + 250ms);

print_line direct_from_luke() {
  return message_line(line_kind::direct, "luke: hi \\e[2J", "luke", "hi \x1b[2J");
}

}  // namespace

TEST_CASE("presenter: SPEC's line alone by default") {
  const utc_zone utc;
  const auto shown = present(direct_from_luke(), presentation{}, now, true);
  CHECK(shown.lines == std::vector<std::string>{"luke: hi \\e[2J"});
  CHECK_FALSE(shown.bell);
}

TEST_CASE("presenter: timestamps after login, in local time") {
  const utc_zone utc;
  presentation how;
  how.timestamps = true;
  CHECK(present(direct_from_luke(), how, now, true).lines ==
        std::vector<std::string>{"[17:05] luke: hi \\e[2J"});
  CHECK(present(notice_line("No other users online"), how, now, true).lines ==
        std::vector<std::string>{"[17:05] No other users online"});
  // Not at the login prompts.
  CHECK(present(notice_line("Invalid Password. Please try again"), how, now, false).lines ==
        std::vector<std::string>{"Invalid Password. Please try again"});
}

TEST_CASE("presenter: a line in its user's colour, SPEC's text whole inside") {
  const utc_zone utc;
  presentation how;
  how.colour = true;
  const auto colour = name_colour("luke");
  CHECK(present(direct_from_luke(), how, now, true).lines ==
        std::vector<std::string>{"\x1b[" + std::to_string(colour) + "mluke: hi \\e[2J\x1b[39m"});
  CHECK(present(presence_line("luke logged in", "luke", true), how, now, true).lines.front() ==
        "\x1b[" + std::to_string(colour) + "mluke logged in\x1b[39m");
  // With timestamps the stamp stays uncoloured.
  how.timestamps = true;
  CHECK(present(direct_from_luke(), how, now, true).lines.front() ==
        "[17:05] \x1b[" + std::to_string(colour) + "mluke: hi \\e[2J\x1b[39m");
  how.timestamps = false;
  // Notices have no name to colour.
  CHECK(present(notice_line("luke is blocked"), how, now, true).lines ==
        std::vector<std::string>{"luke is blocked"});
  // Stable and never red, black or white.
  CHECK(name_colour("luke") == colour);
  for (const auto* name : {"yoda", "luke", "leia", "han", "vader", "r2d2", "a", "b", "c", "d"}) {
    const int c = name_colour(name);
    CHECK(((c >= 32 && c <= 36) || (c >= 92 && c <= 96)));
  }
}

TEST_CASE("presenter: the bell for direct and private messages only") {
  const utc_zone utc;
  presentation how;
  how.bell = true;
  CHECK(present(direct_from_luke(), how, now, true).bell);
  CHECK(present(message_line(line_kind::private_message, "luke(private): x", "luke", "x"), how, now,
                true)
            .bell);
  CHECK_FALSE(
      present(message_line(line_kind::broadcast, "luke: x", "luke", "x"), how, now, true).bell);
  CHECK_FALSE(
      present(message_line(line_kind::offline, "luke: x", "luke", "x", 1), how, now, true).bell);
  CHECK_FALSE(present(presence_line("luke logged in", "luke", true), how, now, true).bell);
  CHECK_FALSE(present(direct_from_luke(), presentation{}, now, true).bell);
}

TEST_CASE("presenter: an offline message's send time follows it as a hint") {
  const utc_zone utc;
  presentation how;
  how.sent_time = true;
  const auto sent = [](wall_clock::time_point when) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  };
  const auto today = message_line(line_kind::offline, "luke: x", "luke", "x", sent(now - 2h));
  CHECK(present(today, how, now, true).lines ==
        std::vector<std::string>{"luke: x", "(sent 15:05)"});
  const auto earlier = message_line(line_kind::offline, "luke: x", "luke", "x", sent(now - 48h));
  CHECK(present(earlier, how, now, true).lines.back() == "(sent 2 Dec 17:05)");
  const auto last_year =
      message_line(line_kind::offline, "luke: x", "luke", "x", sent(now - 24h * 365));
  CHECK(present(last_year, how, now, true).lines.back() == "(sent 4 Dec 2025 17:05)");
  // With timestamps, the hint is stamped like its line; without the option, no hint.
  how.timestamps = true;
  CHECK(present(today, how, now, true).lines ==
        std::vector<std::string>{"[17:05] luke: x", "[17:05] (sent 15:05)"});
  CHECK(present(today, presentation{}, now, true).lines.size() == 1);
}

TEST_CASE("json: every event kind with its fields") {
  using nlohmann::json;
  const auto message = json::parse(json_line_event(direct_from_luke(), now));
  CHECK(message == json{{"v", 1},
                        {"event", "message"},
                        {"time", "2026-12-04T17:05:03.250Z"},
                        {"kind", "direct"},
                        {"from", "luke"},
                        {"text", "hi \x1b[2J"}});
  const auto offline = json::parse(json_line_event(
      message_line(line_kind::offline, "luke: x", "luke", "x", 1796400000000), now));
  CHECK(offline["kind"] == "offline");
  CHECK(offline["sent_at"] == "2026-12-04T16:00:00.000Z");
  CHECK(json::parse(json_line_event(message_line(line_kind::broadcast, "l: x", "l", "x"),
                                    now))["kind"] == "broadcast");
  CHECK(json::parse(json_line_event(
            message_line(line_kind::private_message, "l(private): x", "l", "x"), now))["kind"] ==
        "private");
  const auto presence =
      json::parse(json_line_event(presence_line("luke logged out", "luke", false), now));
  CHECK(presence["event"] == "presence");
  CHECK(presence["user"] == "luke");
  CHECK(presence["online"] == false);
  CHECK(json::parse(json_line_event(notice_line("luke is blocked"), now))["event"] == "notice");
  const auto error = json::parse(json_line_event(notice_line("Error. Invalid user"), now));
  CHECK(error["event"] == "error");
  CHECK(error["text"] == "Error. Invalid user");
  // Bytes that are not UTF-8 do not stop the output.
  const auto bad =
      json::parse(json_line_event(message_line(line_kind::direct, "l: ?", "l", "\xff"), now));
  CHECK(bad["text"] == "\xef\xbf\xbd");
  CHECK(json::parse(json_exit_event(130, now)) ==
        json{{"v", 1}, {"event", "exit"}, {"time", "2026-12-04T17:05:03.250Z"}, {"code", 130}});
}

TEST_CASE("json: prompts that ask for something, and the first fields in a fixed order") {
  const auto asked =
      json_prompt_event(prompt{"Password: ", true, false, false, prompt_kind::password}, now);
  REQUIRE(asked);
  CHECK(asked->starts_with(R"({"v":1,"event":"prompt",)"));
  CHECK(nlohmann::json::parse(*asked)["prompt"] == "password");
  CHECK(json_prompt_event(prompt{"Username: ", false, false, false, prompt_kind::username}, now));
  CHECK(json_prompt_event(prompt{"x", false, false, true, prompt_kind::consent}, now));
  CHECK(json_prompt_event(prompt{"", true, false, false, prompt_kind::new_password}, now));
  CHECK_FALSE(json_prompt_event(prompt{"> ", false, true, false, prompt_kind::command}, now));
  CHECK_FALSE(json_prompt_event(prompt{}, now));
}
