// The `peer` executable: the command line, then the peer on one io_context (one thread) until
// the session ends.
#include "peer/core/effects.hpp"
#include "peer/net/peer_app.hpp"

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>

#include <charconv>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace parley::peer;

constexpr std::string_view usage_line = "Usage: peer <server_port> [options]";
constexpr std::uint16_t min_port = 1024;
constexpr std::uint16_t max_port = 65535;

// CLI11's own usage line lists [OPTIONS] first; ours is the one SPEC 1 gives.
class usage_formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App*, std::string) const override {
    return std::string(usage_line) + "\n";
  }
};

int bad_arguments(const std::string& message) {
  std::cerr << "peer: " << message << '\n' << usage_line << '\n';
  return exit_usage;
}

// A port: a whole decimal number from min_port to max_port, nothing else.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || value < min_port || value > max_port)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "'" : ", '") + item + "'";
  return out;
}

// The options, or the exit code when there is nothing to run (help, version, errors).
std::variant<app_options, int> parse_command_line(int argc, char** argv) {
  app_options result;
  result.agent = std::string("parley-peer/") + PARLEY_VERSION;
  std::string port_text;

  CLI::App cli{"Parley peer: log in to a Parley registry and chat from the terminal.", "peer"};
  cli.formatter(std::make_shared<usage_formatter>());
  // Unknown options and extra arguments are reported by us, in one line, with the usage.
  cli.allow_extras();
  cli.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli.set_version_flag("--version", std::string("peer ") + PARLEY_VERSION);
  // The port is taken as text and checked below, so its error names it our way.
  cli.add_option("server_port", port_text, "the registry's TCP port, 1024 to 65535");
  cli.add_option("--host", result.host, "the registry's address or host name")
      ->option_text("ADDR")
      ->capture_default_str();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ArgumentMismatch& e) {
    // With TakeLast the only mismatch left: an option at the end of the line without its value.
    const std::string what = e.what();
    return bad_arguments("option " + what.substr(0, what.find(':')) + " needs a value");
  } catch (const CLI::ParseError& e) {
    return bad_arguments(e.what());
  }

  std::vector<std::string> unknown_options, extra_arguments;
  for (const auto& extra : cli.remaining())
    (extra.starts_with('-') ? unknown_options : extra_arguments).push_back(extra);
  if (!unknown_options.empty()) {
    return bad_arguments(
        std::string(unknown_options.size() == 1 ? "unknown option " : "unknown options ") +
        join_quoted(unknown_options));
  }
  if (!extra_arguments.empty()) {
    return bad_arguments(std::string(extra_arguments.size() == 1 ? "unexpected argument "
                                                                 : "unexpected arguments ") +
                         join_quoted(extra_arguments));
  }
  if (port_text.empty()) return bad_arguments("missing argument <server_port>");
  const auto port = parse_port(port_text);
  if (!port) {
    return bad_arguments("invalid server_port '" + port_text +
                         "': must be a whole number from 1024 to 65535");
  }
  result.server_port = *port;
  if (result.host.empty()) return bad_arguments("invalid --host '': must be an address");
  return result;
}

}  // namespace

int main(int argc, char** argv) {
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
