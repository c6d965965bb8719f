// peer.toml (issue 12): what each setting takes, and the errors with their line.
#include "peer/app/config.hpp"

#include "tests/unit/scratch_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace parley::peer;

namespace {

peer_config parsed(std::string_view text) {
  auto result = parse_config(text, "peer.toml");
  REQUIRE_MESSAGE(std::holds_alternative<peer_config>(result), std::get<std::string>(result));
  return std::get<peer_config>(result);
}

std::string refused(std::string_view text) {
  auto result = parse_config(text, "peer.toml");
  REQUIRE(std::holds_alternative<std::string>(result));
  return std::get<std::string>(result);
}

}  // namespace

TEST_CASE("config: every setting") {
  const auto config = parsed(
      "# at work\nhost = \"chat.example.org\"\nport = 4711\ntimestamps = true\nbell = false\n"
      "colour = false\n");
  CHECK(config.host == "chat.example.org");
  CHECK(config.port == 4711);
  CHECK(config.timestamps == true);
  CHECK(config.bell == false);
  CHECK(config.colour == false);
  CHECK(parsed("color = true").colour == true);
  CHECK(parsed("reconnect_for = 0").reconnect_for == 0u);
  CHECK(parsed("reconnect_for = 86400").reconnect_for == 86400u);
  const auto empty = parsed("");
  CHECK_FALSE(empty.reconnect_for);
  CHECK_FALSE(empty.host);
  CHECK_FALSE(empty.port);
  CHECK_FALSE(empty.timestamps);
}

TEST_CASE("config: errors name the file, the line and the setting") {
  CHECK(refused("port = 80") == "peer.toml:1:8: port must be a whole number from 1024 to 65535");
  CHECK(refused("\nport = \"4711\"").starts_with("peer.toml:2:"));
  CHECK(refused("bell = \"no\"").find("bell must be true or false") != std::string::npos);
  CHECK(refused("host = \"\"").find("host must be a non-empty string") != std::string::npos);
  CHECK(refused("reconnect_for = 86401") ==
        "peer.toml:1:17: reconnect_for must be a whole number of seconds from 0 to 86400");
  CHECK(refused("reconnect_for = -1").find("reconnect_for must be") != std::string::npos);
  CHECK(refused("reconnect_for = true").find("reconnect_for must be") != std::string::npos);
  // An unknown setting is placed at its name.
  CHECK(refused("\ntimestamp = true").starts_with("peer.toml:2:1: unknown setting 'timestamp'"));
  CHECK(refused("[server]\nport = 4711").find("unknown setting 'server'") != std::string::npos);
  // TOML's own errors, with their position.
  CHECK(refused("port = ").starts_with("peer.toml:1:"));
  CHECK(refused("bell = yes").starts_with("peer.toml:1:"));
}

TEST_CASE("config: a missing file is no configuration unless it was asked for") {
  const parley::test::scratch_dir dir;
  const auto missing = dir.path() / "peer.toml";
  CHECK(std::holds_alternative<peer_config>(load_config(missing, false)));
  const auto asked = load_config(missing, true);
  REQUIRE(std::holds_alternative<std::string>(asked));
  CHECK(std::get<std::string>(asked).find("cannot read") != std::string::npos);
  // A folder is not an empty configuration.
  const auto folder = load_config(dir.path(), false);
  REQUIRE(std::holds_alternative<std::string>(folder));
  CHECK(std::get<std::string>(folder).find("not a regular file") != std::string::npos);

  // Too long is refused before it is parsed.
  {
    std::ofstream out(missing);
    out << "# " << std::string(max_config_bytes, 'x') << "\n";
  }
  const auto long_file = load_config(missing, false);
  REQUIRE(std::holds_alternative<std::string>(long_file));
  CHECK(std::get<std::string>(long_file).find("longer than 64 KiB") != std::string::npos);
  {
    std::ofstream out(missing);
    out << "port = 4711\n";
  }
  const auto read = load_config(missing, false);
  REQUIRE(std::holds_alternative<peer_config>(read));
  CHECK(std::get<peer_config>(read).port == 4711);
}

TEST_CASE("config: the default path follows XDG_CONFIG_HOME, else HOME") {
  const char* saved_xdg = std::getenv("XDG_CONFIG_HOME");
  const std::string xdg = saved_xdg ? saved_xdg : "";
  ::setenv("XDG_CONFIG_HOME", "/tmp/xdg", 1);
  CHECK(default_config_path() == "/tmp/xdg/parley/peer.toml");
  // A relative XDG path is ignored, as the XDG rules say.
  ::setenv("XDG_CONFIG_HOME", "relative", 1);
  const char* saved_home = std::getenv("HOME");
  const std::string home = saved_home ? saved_home : "";
  ::setenv("HOME", "/home/yoda", 1);
  CHECK(default_config_path() == "/home/yoda/.config/parley/peer.toml");
  if (saved_home) {
    ::setenv("HOME", home.c_str(), 1);
  } else {
    ::unsetenv("HOME");
  }
  if (saved_xdg) {
    ::setenv("XDG_CONFIG_HOME", xdg.c_str(), 1);
  } else {
    ::unsetenv("XDG_CONFIG_HOME");
  }
}
