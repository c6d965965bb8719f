// The peer's configuration file, `$XDG_CONFIG_HOME/parley/peer.toml` (else
// `~/.config/parley/peer.toml`): defaults for the registry's host and port and for how lines are
// shown. The command line overrides it; a missing file is no error, a bad one is (with its line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

namespace parley::peer {

// The longest --reconnect-for (or reconnect_for) accepted: a day.
inline constexpr std::int64_t max_reconnect_for_seconds = 24 * 60 * 60;
// A configuration file longer than this is refused before it is parsed.
inline constexpr std::size_t max_config_bytes = 64 * 1024;

// What the file set; what it leaves out stays the built-in default.
struct peer_config {
  std::optional<std::string> host;
  std::optional<std::uint16_t> port;
  std::optional<bool> timestamps;
  std::optional<bool> bell;
  std::optional<bool> colour;
  // SPEC 11: seconds to try to reconnect after losing the registry (0: none).
  std::optional<std::uint32_t> reconnect_for;
};

// The default path; empty if neither XDG_CONFIG_HOME (absolute) nor HOME is set.
std::filesystem::path default_config_path();

// The file's settings, or a message naming the file, the line and the problem. A missing file
// gives an empty configuration when `required` is false.
std::variant<peer_config, std::string> load_config(const std::filesystem::path& file,
                                                   bool required);

// The same, for text already read (`source` names it in messages).
std::variant<peer_config, std::string> parse_config(std::string_view text,
                                                    const std::string& source);

}  // namespace parley::peer
