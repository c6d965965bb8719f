// The `peer` executable: the command line, then the peer on one io_context (one thread) until
// the session ends.
#include "peer/app/config.hpp"
#include "peer/app/peer_app.hpp"
#include "peer/core/effects.hpp"
#include "shared/cli/command_line.hpp"

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>

#include <csignal>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace {

using namespace parley::peer;
namespace cli = parley::cli;

constexpr std::string_view usage_line = "Usage: peer <server_port> [options]";
constexpr std::uint16_t min_port = 1024;
constexpr std::uint16_t max_port = 65535;
// The most pending private-chat handshakes either option may allow: each holds a descriptor.
constexpr std::uint64_t max_handshakes_bound = 4096;

// The options, or the exit code when there is nothing to run (help, version, errors).
std::variant<app_options, int> parse_command_line(int argc, char** argv) {
  app_options result;
  result.agent = std::string("parley-peer/") + PARLEY_VERSION;
  std::string port_text;

  cli::command_line command_line("peer", std::string(usage_line),
                                 "Parley peer: log in to a Parley registry and chat from the "
                                 "terminal.",
                                 PARLEY_VERSION);
  auto& cli = command_line.app();
  // The port is taken as text and checked below, so its error names it our way.
  // No type name: the positional is a number, whatever CLI11 takes it as.
  cli.add_option("server_port", port_text, "the registry's TCP port, 1024 to 65535")->type_name("");
  cli.add_option("--host", result.host,
                 "the registry's address or host name (default: " + result.host + ")")
      ->type_name("ADDR");
  std::string handshakes_text = std::to_string(result.handshakes.total);
  std::string per_address_text = std::to_string(result.handshakes.per_address);
  cli.add_option("--max-chat-handshakes", handshakes_text,
                 "private-chat connections that may wait for their handshake at once; more are "
                 "closed (default: " +
                     handshakes_text + ")")
      ->type_name("N");
  cli.add_option("--max-chat-handshakes-per-address", per_address_text,
                 "of those, from one IP address; a requester you accepted always gets in "
                 "(default: " +
                     per_address_text + "; 0: no bound but the total)")
      ->type_name("N");

  bool timestamps = false;
  bool no_timestamps = false;
  bool no_bell = false;
  bool no_colour = false;
  std::string config_text;
  cli.add_flag("--timestamps", timestamps,
               "show the time, [HH:MM] , before every line after login (peer.toml: timestamps)");
  cli.add_flag("--no-timestamps", no_timestamps, "no time before lines (the default)");
  cli.add_flag("--no-bell", no_bell,
               "no terminal bell on a direct or private message (peer.toml: bell = false)");
  cli.add_flag("--no-colour,--no-color", no_colour,
               "no colour for user names (also with NO_COLOR set; peer.toml: colour = false)");
  cli.add_flag("--json", result.json,
               "for programs: one JSON object per event on standard output (see the README)");
  cli.add_option("--config", config_text,
                 "read settings from this file instead of $XDG_CONFIG_HOME/parley/peer.toml "
                 "(else ~/.config/parley/peer.toml)")
      ->type_name("PATH");

  std::string reconnect_text = std::to_string(result.reconnect_for.count());
  cli.add_option("--reconnect-for", reconnect_text,
                 "seconds to try to reconnect to a lost registry, resuming the session (default: " +
                     reconnect_text + "; 0: none; peer.toml: reconnect_for)")
      ->type_name("SECONDS");

  std::string ca_text;
  cli.add_flag("--no-tls", result.no_tls,
               "speak the plain protocol, unencrypted, to a registry started with --no-tls (for "
               "teaching with a packet capture)");
  cli.add_option("--ca", ca_text,
                 "check the registry's certificate against these CA certificates (PEM) and its "
                 "name against --host, instead of pinning its key on first use")
      ->type_name("PATH");

  if (const auto code = command_line.parse(argc, argv)) return *code;
  const auto bad_arguments = [&](const std::string& message) { return command_line.fail(message); };

  // The configuration file gives defaults; what the command line says wins.
  if (cli.count("--config") && config_text.empty())
    return bad_arguments("invalid --config '': must be a path");
  const auto config_path =
      cli.count("--config") ? std::filesystem::path(config_text) : default_config_path();
  peer_config config;
  if (!config_path.empty()) {
    auto loaded = load_config(config_path, cli.count("--config") > 0);
    if (const auto* problem = std::get_if<std::string>(&loaded))
      return bad_arguments("bad configuration: " + *problem);
    config = std::get<peer_config>(loaded);
  }
  if (!cli.count("--host") && config.host) result.host = *config.host;
  result.timestamps = timestamps || (!no_timestamps && config.timestamps.value_or(false));
  result.bell = !no_bell && config.bell.value_or(true);
  result.colour = !no_colour && config.colour.value_or(true);
  if (cli.count("--reconnect-for")) {
    const auto seconds = cli::parse_whole(reconnect_text, 0, max_reconnect_for_seconds);
    if (!seconds)
      return bad_arguments("invalid --reconnect-for '" + reconnect_text +
                           "': must be a whole number of seconds from 0 to " +
                           std::to_string(max_reconnect_for_seconds));
    result.reconnect_for = std::chrono::seconds(*seconds);
  } else if (config.reconnect_for) {
    result.reconnect_for = std::chrono::seconds(*config.reconnect_for);
  }

  if (port_text.empty() && config.port) {
    result.server_port = *config.port;
  } else {
    if (port_text.empty()) return bad_arguments("missing argument <server_port>");
    const auto port = cli::parse_whole(port_text, min_port, max_port);
    if (!port) {
      return bad_arguments("invalid server_port '" + port_text +
                           "': must be a whole number from 1024 to 65535");
    }
    result.server_port = static_cast<std::uint16_t>(*port);
  }
  if (result.host.empty()) return bad_arguments("invalid --host '': must be an address");
  if (cli.count("--ca")) {
    if (ca_text.empty()) return bad_arguments("invalid --ca '': must be a path");
    if (result.no_tls) return bad_arguments("--ca cannot be used with --no-tls");
    result.ca_file = ca_text;
  }
  // Checked in this order; the first out of its range is the one error reported.
  const auto whole = [&](const char* name, const std::string& text, std::uint64_t low,
                         std::size_t& into) -> std::optional<int> {
    if (const auto value = cli::parse_whole(text, low, max_handshakes_bound)) {
      into = static_cast<std::size_t>(*value);
      return std::nullopt;
    }
    return bad_arguments(std::string("invalid ") + name + " '" + text +
                         "': must be a whole number from " + std::to_string(low) + " to " +
                         std::to_string(max_handshakes_bound));
  };
  if (const auto code = whole("--max-chat-handshakes", handshakes_text, 1, result.handshakes.total))
    return *code;
  if (const auto code = whole("--max-chat-handshakes-per-address", per_address_text, 0,
                              result.handshakes.per_address))
    return *code;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a connection the other side has reset must fail with EPIPE, not end the peer:
  // OpenSSL writes with plain write(2), without MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  auto parsed = parse_command_line(argc, argv);
  if (const auto* code = std::get_if<int>(&parsed)) return *code;

  try {
    // One io_context on this one thread: the terminal, the registry link and the signals all
    // run here, so nothing in the peer is shared between threads.
    asio::io_context io;
    peer_app app(io, std::move(std::get<app_options>(parsed)));
    app.start();
    io.run();
    return app.exit_code();
  } catch (const std::exception& e) {
    // The terminal has been restored by the app's destructors on the way here.
    std::cerr << "peer: " << e.what() << '\n';
    return exit_failure;
  }
}
