// The peer's imperative shell: wires the terminal, the registry link, the private-chat network
// and SIGINT/SIGTERM to the pure core (peer/core), and applies the core's effects in order.
//
// One io_context, one thread: every handler here runs on it, so nothing is locked.
#pragma once

#include "peer/core/effects.hpp"
#include "peer/core/handshake_admission.hpp"
#include "peer/core/peer_core.hpp"
#include "peer/net/private_network.hpp"
#include "peer/net/registry_link.hpp"
#include "peer/tls/registry_trust.hpp"
#include "peer/tui/presenter.hpp"
#include "peer/tui/terminal.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <random>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace parley::peer {

struct app_options {
  std::string host = "127.0.0.1";
  std::uint16_t server_port = 0;
  std::string agent;  // sent in the hello, e.g. "parley-peer/0.1.0"
  // The private-chat listener's pending handshakes (SPEC 8.8).
  handshake_limits handshakes;
  // SPEC 10: the plain protocol (--no-tls), or a CA's certificates to check the registry's
  // against instead of the pin (--ca).
  bool no_tls = false;
  std::optional<std::string> ca_file;
  // How lines are shown (options and peer.toml): colour and the bell only on a terminal, and
  // colour never with NO_COLOR set; --json writes one JSON object per event instead.
  bool timestamps = false;
  bool bell = true;
  bool colour = true;
  bool json = false;
  // SPEC 11: how long to try to reconnect to a lost registry, resuming the session (0: not at
  // all: the peer ends, or goes on for its private chats alone).
  std::chrono::seconds reconnect_for{300};
};

class peer_app {
 public:
  peer_app(asio::io_context& io, app_options options);
  peer_app(const peer_app&) = delete;
  peer_app& operator=(const peer_app&) = delete;

  // Starts connecting; io.run() returns when the peer is done.
  void start();

  // The process's exit code, once io.run() has returned.
  int exit_code() const { return exit_code_.value_or(exit_failure); }

 private:
  asio::awaitable<void> run();
  asio::awaitable<void> watch_signals();
  // SIGINT (Ctrl-C) or SIGTERM.
  void on_stop_signal(int signal_number);
  // The registry's hello has arrived over a checked link: the session begins.
  void on_greeted();
  // A message on the live link (the first one's, or a reconnect's), past its hello.
  void on_registry_message(const proto::server_message& message);
  // The link ended before the registry's hello: why, in the user's words (the key, TLS).
  void on_refused();
  // The key changed, or TLS and plain disagree: said, and fatal. False for anything else.
  bool refused_for_good();
  // SPEC 11: the next attempt to reconnect after its back-off, or the end of trying.
  void schedule_reconnect();
  asio::awaitable<void> reconnect_attempt(std::uint64_t generation);
  // Opens the private-chat listener beside the registry link and wires it to the core.
  void start_private_network();
  // Applies what the core asked for, then clears it.
  void apply();
  // One line of output, as the presentation (or --json) shows it.
  void show(const print_line& line);
  void show(std::string text) { show(notice_line(std::move(text))); }
  void show_prompt_of(const prompt& next);
  void finish(int code);

  asio::io_context& io_;
  app_options options_;
  terminal terminal_;
  peer_core core_;
  std::unique_ptr<registry_link> link_;
  private_network network_;
  asio::signal_set stop_signals_;
  presentation presentation_;
  effects effects_;
  std::unique_ptr<tls::registry_trust> trust_;
  // The line saying a key was pinned, shown after the login's welcome.
  std::string pin_note_;
  bool connected_ = false;
  std::optional<int> exit_code_;
  // Reconnecting (SPEC 11): the links of earlier attempts are told apart by their generation.
  asio::steady_timer reconnect_timer_;
  // One attempt's deadline, once connected (the answer may never come).
  asio::steady_timer attempt_timer_;
  std::optional<std::chrono::steady_clock::time_point> reconnect_until_;
  unsigned reconnect_attempts_ = 0;
  std::uint64_t link_generation_ = 0;
  bool reconnect_timer_pending_ = false;
  bool attempt_greeted_ = false;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace parley::peer
