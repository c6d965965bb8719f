#include "peer/app/peer_app.hpp"

#include "peer/core/texts.hpp"
#include "shared/util/overloaded.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>

namespace parley::peer {
namespace {

core_config make_core_config(bool interactive, bool reconnect) {
  // A script's output carries no command prompt: only what the registry and the user did.
  return core_config{interactive ? std::string(texts::command_prompt) : std::string(), reconnect};
}

// SPEC 11's back-off: the first try within 1 s, then 1, 2, 4, 8, 10, 10 ... s, each shortened
// by up to half at random, so that the peers of a restarted registry do not all come at once.
std::chrono::milliseconds reconnect_delay(unsigned attempt, double random) {
  using std::chrono::milliseconds;
  if (attempt == 0) return milliseconds(100 + static_cast<long>(900 * random));
  const long full = std::min<long>(10'000, 1000L << std::min(attempt - 1, 4U));
  return milliseconds(static_cast<long>(full * (0.5 + 0.5 * random)));
}

// Colour, the bell and the send-time hint are for a person at a terminal; a script or a file
// gets SPEC's lines, with the time only if asked for (and then the send time too).
presentation make_presentation(const app_options& options, bool interactive) {
  const char* no_colour = std::getenv("NO_COLOR");
  const bool colour_refused = no_colour && *no_colour;
  return presentation{
      options.timestamps,
      interactive && options.colour && !colour_refused,
      interactive && options.bell,
      interactive || options.timestamps,
  };
}

}  // namespace

peer_app::peer_app(asio::io_context& io, app_options options)
    : io_(io),
      options_(std::move(options)),
      terminal_(io.get_executor(), max_line_bytes, options_.json),
      core_(make_core_config(terminal_.interactive(), options_.reconnect_for.count() > 0)),
      link_(std::make_unique<registry_link>(io.get_executor())),
      network_(io.get_executor(), options_.handshakes),
      stop_signals_(io, SIGINT, SIGTERM),
      presentation_(make_presentation(options_, terminal_.interactive())),
      reconnect_timer_(io),
      attempt_timer_(io) {}

void peer_app::start() {
  asio::co_spawn(io_, watch_signals(), asio::detached);
  asio::co_spawn(io_, run(), asio::detached);
}

asio::awaitable<void> peer_app::run() {
  std::string trust_error;
  trust_ = tls::registry_trust::make(
      tls::trust_options{options_.host, options_.server_port, options_.no_tls, options_.ca_file},
      trust_error);
  if (!trust_) {
    std::fprintf(stderr, "%s\n", texts::cannot_check_registry(trust_error).c_str());
    finish(exit_failure);
    co_return;
  }
  registry_link::handlers link_handlers{
      [this](const proto::server_message& message) {
        // A link replaced by a reconnect's (SPEC 11) says nothing more.
        if (link_generation_ != 0) return;
        // The session begins with the registry's hello: only then has a TLS registry passed
        // the check, and only then are the prompts shown (nothing typed can leave before).
        if (!connected_ && std::holds_alternative<proto::server_hello>(message)) {
          on_greeted();
          return;
        }
        on_registry_message(message);
      },
      [this] {
        if (link_generation_ != 0) return;
        if (!connected_) return on_refused();
        core_.on_disconnected(effects_);
        apply();
      },
  };
  const auto ec = co_await link_->connect(options_.host, options_.server_port, options_.agent,
                                          trust_->context(), std::move(link_handlers));
  // Interrupted while connecting: nothing to undo.
  if (exit_code_) co_return;
  if (ec) {
    const auto line = texts::cannot_connect(options_.host, options_.server_port, ec.message());
    std::fprintf(stderr, "%s\n", line.c_str());
    finish(exit_failure);
    co_return;
  }
}

void peer_app::on_greeted() {
  connected_ = true;
  pin_note_ = trust_->confirm();
  start_private_network();

  terminal::handlers input_handlers{
      [this](std::string line) {
        core_.on_line(std::move(line), effects_);
        apply();
      },
      [this] {
        core_.on_line_too_long(effects_);
        apply();
      },
      [this] {
        core_.on_input_closed(effects_);
        apply();
      },
      [this](std::string_view before, std::string_view word) {
        return core_.completions(before, word);
      },
  };
  terminal_.start(std::move(input_handlers));
  core_.on_connected(effects_);
  apply();
}

void peer_app::on_registry_message(const proto::server_message& message) {
  core_.on_message(message, std::chrono::steady_clock::now(), effects_);
  apply();
  // An open may have arrived before the private_expect_keyed that vouches for it.
  if (std::holds_alternative<proto::private_expect_keyed>(message)) network_.retry_waiting();
}

void peer_app::on_refused() {
  if (exit_code_ || core_.finished()) return;
  // A changed key, a TLS/plain disagreement or a CA's refusal: said there.
  if (refused_for_good()) return;
  if (link_->close_cause() == net::close_cause::tls_failed) {
    show(texts::registry_tls_failed(link_->close_reason()));
    return finish(exit_failure);
  }
  core_.on_disconnected(effects_);
  apply();
}

bool peer_app::refused_for_good() {
  const auto print = [&](const std::string& line) { show(line); };
  if (const auto& changed = trust_->changed()) {
    // SPEC 10: nothing was sent (the check runs inside the handshake). Never retried.
    print(texts::registry_identity_changed(changed->presented));
    print(texts::registry_identity_hint(tls::registry_address(options_.host, options_.server_port),
                                        changed->pinned, changed->line,
                                        trust_->pins_file().string()));
    finish(exit_failure);
    return true;
  }
  if (link_->close_cause() == net::close_cause::tls_mismatch) {
    print(std::string(texts::registry_without_tls));
    print(std::string(texts::registry_without_tls_hint));
    finish(exit_failure);
    return true;
  }
  // A CA's refusal of the certificate is as final as a changed key.
  if (link_->close_cause() == net::close_cause::tls_failed && trust_->uses_ca() &&
      !link_->verify_error().empty()) {
    print(texts::registry_certificate_refused(link_->verify_error()));
    finish(exit_failure);
    return true;
  }
  return false;
}

void peer_app::schedule_reconnect() {
  if (exit_code_ || !core_.reconnecting()) return;
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  if (!reconnect_until_) {
    reconnect_until_ = now + options_.reconnect_for;
    reconnect_attempts_ = 0;
  }
  const auto delay =
      reconnect_delay(reconnect_attempts_, std::uniform_real_distribution<double>(0, 1)(jitter_));
  if (now + delay >= *reconnect_until_) {
    core_.on_reconnect_given_up(options_.reconnect_for.count(), effects_);
    reconnect_until_.reset();
    return apply();
  }
  // A new link per attempt; the old one's late events are told apart by the generation.
  const std::uint64_t generation = ++link_generation_;
  link_->close();
  link_ = std::make_unique<registry_link>(io_.get_executor());
  reconnect_timer_pending_ = true;
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this, generation](std::error_code ec) {
    reconnect_timer_pending_ = false;
    if (ec || exit_code_ || generation != link_generation_) return;
    ++reconnect_attempts_;
    asio::co_spawn(io_, reconnect_attempt(generation), asio::detached);
  });
}

asio::awaitable<void> peer_app::reconnect_attempt(std::uint64_t generation) {
  attempt_greeted_ = false;
  registry_link::handlers handlers{
      [this, generation](const proto::server_message& message) {
        if (generation != link_generation_ || exit_code_) return;
        if (!attempt_greeted_ && std::holds_alternative<proto::server_hello>(message)) {
          attempt_greeted_ = true;
          // Back for good once the session answers; a failed resume tries again.
          core_.on_reconnected(effects_);
          return apply();
        }
        on_registry_message(message);
        if (!core_.reconnecting()) reconnect_until_.reset();
      },
      [this, generation] {
        if (generation != link_generation_ || exit_code_) return;
        // The pin or the CA is checked inside every handshake: a changed key is fatal.
        if (!attempt_greeted_ && refused_for_good()) return;
        core_.on_disconnected(effects_);
        apply();
      },
  };
  const auto ec = co_await link_->connect(options_.host, options_.server_port, options_.agent,
                                          trust_->context(), std::move(handlers));
  if (exit_code_ || generation != link_generation_) co_return;
  // Refused, unreachable or timed out: the next attempt, after its delay.
  if (ec) {
    schedule_reconnect();
    co_return;
  }
  // Connected: the handshake, the hello and the resume's answer get 10 s (or what is left), so
  // that a registry which accepts and never answers (stopped, wedged) is given up on in time.
  const auto left = *reconnect_until_ - std::chrono::steady_clock::now();
  attempt_timer_.expires_after(std::min<std::chrono::steady_clock::duration>(
      registry_connect_timeout, std::max<std::chrono::steady_clock::duration>(left, {})));
  attempt_timer_.async_wait([this, generation](std::error_code timer_ec) {
    if (timer_ec || exit_code_ || generation != link_generation_ || !core_.reconnecting()) return;
    schedule_reconnect();
  });
}

void peer_app::start_private_network() {
  using clock = std::chrono::steady_clock;
  network_.set_handlers(private_network::handlers{
      [this](const proto::p2p_open& opening) {
        return core_.on_private_open(opening, clock::now());
      },
      [this](const std::string& user, const proto::chat_public_key& key,
             const std::string& safety) {
        const bool opened = core_.on_private_proven(user, key, safety, clock::now(), effects_);
        apply();
        return opened;
      },
      [this](const std::string& user, bool opened, const std::string& safety) {
        core_.on_private_dialed(user, opened, safety, effects_);
        apply();
      },
      [this](const std::string& user, const proto::p2p_message& message) {
        core_.on_private_message(user, message, effects_);
        apply();
      },
      [this](const std::string& user) {
        core_.on_private_closed(user, effects_);
        apply();
      },
      [this](const std::string& address) {
        return core_.expects_private_from(address, clock::now());
      },
      [this](const std::string& line) { terminal_.report(line); },
  });
  // Without a listener the registry tells whoever asks that this user cannot take private
  // chats; everything else works.
  if (!network_.listen(link_->local_address())) core_.set_private_port(network_.port());
}

asio::awaitable<void> peer_app::watch_signals() {
  for (;;) {
    std::error_code ec;
    const int signal_number =
        co_await stop_signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || exit_code_) co_return;
    on_stop_signal(signal_number);
    // Ended by it: no wait may be left behind, or io.run() would never return.
    if (exit_code_) co_return;
  }
}

void peer_app::on_stop_signal(int signal_number) {
  // On a terminal after login Ctrl-C clears the typed line; a second one on an empty line logs
  // out. A script has no line to clear; a logout already sent is not waited for again. Before
  // login (or the registry's hello) the core quits at once (SPEC 11).
  if (signal_number == SIGINT && connected_ && core_.logged_in() && terminal_.interactive() &&
      !core_.logging_out()) {
    switch (terminal_.interrupt()) {
      case terminal::interrupt_effect::cleared: return;
      case terminal::interrupt_effect::warned: show(std::string(texts::interrupt_hint)); return;
      case terminal::interrupt_effect::confirmed: break;
    }
  }
  core_.on_interrupt(signal_number == SIGINT ? peer_core::stop_signal::interrupt
                                             : peer_core::stop_signal::terminate,
                     effects_);
  apply();
}

void peer_app::apply() {
  if (exit_code_) {
    effects_.clear();
    return;
  }
  // What is applied here may lead back into the core: it then fills effects_ anew.
  const auto work = std::move(effects_);
  effects_.clear();
  for (const auto& item : work.display) {
    std::visit(overloaded{
                   [&](const print_line& line) { show(line); },
                   [&](const show_prompt& shown) { show_prompt_of(shown.prompt); },
               },
               item);
  }
  for (const auto& message : work.sends) link_->send(message);
  for (const auto& action : work.chats) {
    std::visit(overloaded{
                   [&](const dial_chat& dial) { network_.dial(dial); },
                   [&](const send_on_chat& send) { network_.send(send.user, send.message); },
                   [&](const close_chat& close) { network_.close(close.user, close.flush); },
               },
               action);
  }
  if (work.exit_code) return finish(*work.exit_code);
  // SPEC 11: once per loss, or again after an attempt that did not get the session back.
  // Posted: this may run inside a handler of the link that schedule_reconnect replaces.
  if (work.reconnect && !reconnect_timer_pending_) {
    reconnect_timer_pending_ = true;
    asio::post(io_, [this] {
      reconnect_timer_pending_ = false;
      schedule_reconnect();
    });
  }
  if (!pin_note_.empty() && core_.logged_in()) {
    // After the welcome (a hint line follows a fixed one, SPEC 4).
    terminal_.report(pin_note_);
    pin_note_.clear();
  }
  terminal_.set_input_wanted(core_.ready_for_input());
}

void peer_app::show(const print_line& line) {
  const auto now = wall_clock::now();
  if (options_.json) return terminal_.print(json_line_event(line, now));
  const auto shown = present(line, presentation_, now, core_.logged_in());
  for (const auto& text : shown.lines) terminal_.print(text);
  if (shown.bell) terminal_.bell();
}

void peer_app::show_prompt_of(const prompt& next) {
  if (!options_.json) return terminal_.set_prompt(next);
  // A program is told what is asked, as an event; the prompt's text is not written as well.
  if (const auto event = json_prompt_event(next, wall_clock::now())) terminal_.print(*event);
  auto quiet = next;
  quiet.text.clear();
  terminal_.set_prompt(quiet);
}

void peer_app::finish(int code) {
  if (exit_code_) return;
  if (options_.json) terminal_.print(json_exit_event(code, wall_clock::now()));
  exit_code_ = code;
  // Closing everything lets io.run() return: no exit() from inside a handler.
  terminal_.stop();
  link_->close();
  reconnect_timer_.cancel();
  attempt_timer_.cancel();
  network_.close_all();
  std::error_code ignored;
  stop_signals_.cancel(ignored);
}

}  // namespace parley::peer
