// The peer's everyday options (issue 12): timestamps, a colour per name and NO_COLOR, the send
// time of an offline message, peer.toml, and --json parsed as a program would.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace parley::e2e {
namespace {

using nlohmann::json;

// Every line of a finished peer's stdout.
std::vector<std::string> output_lines(child_process& peer) {
  peer.read_output();
  return split_lines(peer.raw_output());
}

const std::string script_yoda = "yoda\n" + password_of("yoda") + "\n";

}  // namespace

TEST_CASE("everyday: --timestamps puts [HH:MM] before each line after login, and nothing else") {
  registry_fixture registry;
  const auto luke = logged_in_peer(registry, "luke");
  const auto home = registry.new_home();
  auto yoda = start_peer_with(registry, io_mode::pipes, home,
                              {std::to_string(registry.port()), "--timestamps"}, {{"TZ", "UTC"}});
  yoda->send_raw(script_yoda + "whoelse\nlogout\n");
  yoda->close_input();
  CHECK(yoda->wait_exit() == 0);
  const auto lines = output_lines(*yoda);
  REQUIRE(lines.size() == 2);
  // The login prompts as before; then the stamped lines, in UTC here.
  const std::regex stamped(R"(\[([01][0-9]|2[0-3]):[0-5][0-9]\] (.*))");
  std::smatch parts;
  CHECK(lines[0].starts_with(std::string(text::username_prompt) +
                             std::string(text::password_prompt) + "["));
  const auto welcome = lines[0].substr(text::username_prompt.size() + text::password_prompt.size());
  REQUIRE(std::regex_match(welcome, parts, stamped));
  CHECK(parts[2] == std::string(text::welcome));
  REQUIRE(std::regex_match(lines[1], parts, stamped));
  CHECK(parts[2] == "luke");
  log_out(*luke);
}

TEST_CASE(
    "everyday: on a terminal, names in colour, unless NO_COLOR, and offline messages say when") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");
  CHECK(answer_to(*luke, "message yoda Are you there?").empty());

  auto yoda = start_peer_with(registry, io_mode::terminal, registry.new_home(),
                              {std::to_string(registry.port())}, {{"NO_COLOR", ""}});
  log_in(*yoda, "yoda", password_of("yoda"));
  yoda->expect_line("luke: Are you there?");
  // The send time follows as a hint, on the very next line: today, so the hour and minute.
  const std::regex hint(R"(\(sent ([01][0-9]|2[0-3]):[0-5][0-9]\))");
  const auto& shown = yoda->output().lines();
  const auto message_at = yoda->output().mark_line() - 1;
  REQUIRE(wait_until([&] {
    yoda->read_output(std::chrono::milliseconds(10));
    return shown.size() > message_at + 1;
  }));
  CHECK(shown[message_at] == "luke: Are you there?");
  CHECK(std::regex_match(shown[message_at + 1], hint));
  luke->send_line("message yoda hello");
  yoda->expect_line("luke: hello");
  // The line in luke's SGR colour, SPEC's text whole inside, the colour reset after it.
  CHECK(std::regex_search(yoda->raw_output(),
                          std::regex("\x1b\\[(3[2-6]|9[2-6])mluke: hello\x1b\\[39m")));

  auto plain = start_peer_with(registry, io_mode::terminal, registry.new_home(),
                               {std::to_string(registry.port())}, {{"NO_COLOR", "1"}});
  log_in(*plain, "hans", password_of("hans"));
  luke->send_line("message hans hello");
  plain->expect_line("luke: hello");
  CHECK(plain->raw_output().find("mluke") == std::string::npos);
  CHECK(plain->raw_output().find("luke: hello") != std::string::npos);
  // --no-colour does the same.
  auto quiet = start_peer_with(registry, io_mode::terminal, registry.new_home(),
                               {std::to_string(registry.port()), "--no-colour", "--no-bell"},
                               {{"NO_COLOR", ""}});
  log_in(*quiet, "leia", password_of("leia"));
  luke->send_line("message leia hello");
  quiet->expect_line("luke: hello");
  CHECK(quiet->raw_output().find("mluke") == std::string::npos);
  CHECK(quiet->raw_output().find('\x07') == std::string::npos);
  log_out(*quiet);
  log_out(*plain);
  log_out(*yoda);
  log_out(*luke);
}

TEST_CASE("everyday: peer.toml gives the port and the options, and the command line wins") {
  registry_fixture registry;
  const auto home = registry.new_home();
  std::filesystem::create_directories(home / ".config" / "parley");
  write_file(home / ".config" / "parley" / "peer.toml",
             "# Parley\nport = " + std::to_string(registry.port()) + "\ntimestamps = true\n");
  // No port on the command line: peer.toml's.
  auto yoda = start_peer_with(registry, io_mode::pipes, home, {});
  yoda->send_raw(script_yoda + "whoelse\n");
  yoda->close_input();
  CHECK(yoda->wait_exit() == 0);
  auto lines = output_lines(*yoda);
  REQUIRE(lines.size() == 2);
  CHECK(std::regex_match(lines[1], std::regex(R"(\[\d\d:\d\d\] No other users online)")));

  // --no-timestamps over the file's timestamps = true.
  auto again = start_peer_with(registry, io_mode::pipes, home, {"--no-timestamps"});
  again->send_raw(script_yoda + "whoelse\n");
  again->close_input();
  CHECK(again->wait_exit() == 0);
  lines = output_lines(*again);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == text::no_other_users_online);

  // A bad file: the line and the problem, exit 2, nothing started.
  write_file(home / ".config" / "parley" / "peer.toml", "port = 4711\nbel = false\n");
  auto refused = start_peer_with(registry, io_mode::pipes, home, {});
  CHECK(refused->wait_exit() == 2);
  CHECK(refused->error_output().find("peer.toml:2:1: unknown setting 'bel'") != std::string::npos);
  // --config names another file, which must then exist.
  auto missing = start_peer_with(registry, io_mode::pipes, home,
                                 {"--config", (home / "nowhere.toml").string()});
  CHECK(missing->wait_exit() == 2);
  CHECK(missing->error_output().find("nowhere.toml: cannot read") != std::string::npos);
}

TEST_CASE("everyday: --json is one JSON object per event, every one parsed") {
  registry_fixture registry;
  auto luke = logged_in_peer(registry, "luke");
  CHECK(answer_to(*luke, "message yoda kept for you").empty());

  auto yoda = start_peer_with(registry, io_mode::pipes, registry.new_home(),
                              {std::to_string(registry.port()), "--json"});
  yoda->send_raw(script_yoda);
  yoda->expect("\"event\":\"message\"");
  luke->expect_line("yoda logged in");
  luke->send_line("message yoda live");
  yoda->expect("live");
  yoda->send_raw("message nobody hi\nwhoelse\n");
  yoda->close_input();
  CHECK(yoda->wait_exit() == 0);
  luke->expect_line("yoda logged out");

  std::vector<json> events;
  for (const auto& line : output_lines(*yoda)) {
    INFO(line);
    REQUIRE(json::accept(line));
    events.push_back(json::parse(line));
    CHECK(events.back()["v"] == 1);
    CHECK(events.back()["time"].is_string());
  }
  const auto kinds = [&] {
    std::vector<std::string> names;
    for (const auto& event : events) names.push_back(event["event"]);
    return names;
  }();
  CHECK(kinds == std::vector<std::string>{"prompt", "prompt", "notice", "message", "message",
                                          "error", "notice", "exit"});
  CHECK(events[0]["prompt"] == "username");
  CHECK(events[1]["prompt"] == "password");
  CHECK(events[2]["text"] == std::string(text::welcome));
  CHECK(events[3]["kind"] == "offline");
  CHECK(events[3]["from"] == "luke");
  CHECK(events[3]["text"] == "kept for you");
  CHECK(events[3]["sent_at"].is_string());
  CHECK(events[4]["kind"] == "direct");
  CHECK(events[4]["text"] == "live");
  CHECK(events[5]["text"] == std::string(text::invalid_user));
  CHECK(events[6]["text"] == "luke");
  CHECK(events[7]["code"] == 0);
  // The password never appears.
  CHECK(yoda->raw_output().find(password_of("yoda")) == std::string::npos);
  log_out(*luke);
}

}  // namespace parley::e2e
