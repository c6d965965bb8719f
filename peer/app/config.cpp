#include "peer/app/config.hpp"

#include "shared/util/xdg.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace parley::peer {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t min_port = 1024;
constexpr std::int64_t max_port = 65535;

std::string where(const std::string& source, const toml::source_region& region) {
  return source + ":" + std::to_string(region.begin.line) + ":" +
         std::to_string(region.begin.column);
}

}  // namespace

fs::path default_config_path() {
  const auto config = xdg_directory("XDG_CONFIG_HOME", ".config");
  return config.empty() ? config : config / "parley" / "peer.toml";
}

std::variant<peer_config, std::string> parse_config(std::string_view text,
                                                    const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    return where(source, error.source()) + ": " + std::string(error.description());
  }
  peer_config config;
  for (const auto& entry : table) {
    // Not a structured binding: the lambda below captures it (clang 14 allows no such capture).
    const auto& key = entry.first;
    const auto& value = entry.second;
    const auto at = where(source, value.source());
    const auto name = std::string(key.str());
    const auto flag = [&](std::optional<bool>& into) -> std::optional<std::string> {
      if (const auto* on = value.as_boolean()) {
        into = on->get();
        return std::nullopt;
      }
      return at + ": " + name + " must be true or false";
    };
    std::optional<std::string> problem;
    if (name == "host") {
      const auto* host = value.as_string();
      if (!host || host->get().empty()) {
        problem = at + ": host must be a non-empty string, an address or a host name";
      } else {
        config.host = host->get();
      }
    } else if (name == "port") {
      const auto* port = value.as_integer();
      if (!port || port->get() < min_port || port->get() > max_port) {
        problem = at + ": port must be a whole number from 1024 to 65535";
      } else {
        config.port = static_cast<std::uint16_t>(port->get());
      }
    } else if (name == "timestamps") {
      problem = flag(config.timestamps);
    } else if (name == "bell") {
      problem = flag(config.bell);
    } else if (name == "colour" || name == "color") {
      problem = flag(config.colour);
    } else if (name == "reconnect_for") {
      const auto* seconds = value.as_integer();
      if (!seconds || seconds->get() < 0 || seconds->get() > max_reconnect_for_seconds) {
        problem = at + ": reconnect_for must be a whole number of seconds from 0 to " +
                  std::to_string(max_reconnect_for_seconds);
      } else {
        config.reconnect_for = static_cast<std::uint32_t>(seconds->get());
      }
    } else {
      // A misspelt key would otherwise be ignored in silence.
      problem = where(source, key.source()) + ": unknown setting '" + name +
                "' (known: host, port, timestamps, bell, colour, reconnect_for)";
    }
    if (problem) return *problem;
  }
  return config;
}

std::variant<peer_config, std::string> load_config(const fs::path& file, bool required) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (!fs::exists(status)) {
    if (!required) return peer_config{};
    return file.string() + ": cannot read: no such file";
  }
  // A folder opens as a stream that reads nothing: it would pass as an empty configuration.
  if (!fs::is_regular_file(status)) return file.string() + ": cannot read: not a regular file";
  std::ifstream in(file, std::ios::binary);
  if (!in) return file.string() + ": cannot read: " + std::strerror(errno);
  // Bounded before it is read whole: a configuration is a few lines.
  std::string text(max_config_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_config_bytes)
    return file.string() + ": longer than " + std::to_string(max_config_bytes / 1024) +
           " KiB; is it a configuration file?";
  if (in.bad()) return file.string() + ": cannot read: " + std::strerror(errno);
  return parse_config(text, file.string());
}

}  // namespace parley::peer
