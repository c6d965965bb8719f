// The session's input side: lines in order, the queue while a reply is awaited, the login
// prompts, and the helpers every part of peer_core shares. Commands, registry messages and
// private-chat events are in the peer_core_*.cpp files beside this one.
#include "peer/core/peer_core.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/text.hpp"

#include <utility>

namespace parley::peer {
namespace {

// A password the protocol can carry: at most its bound, no control characters, UTF-8.
bool is_sendable_password(std::string_view password) {
  return password.size() <= proto::max_password_bytes && !proto::has_ascii_control(password) &&
         proto::is_valid_utf8(password);
}

}  // namespace

peer_core::peer_core(core_config config) : config_(std::move(config)) {}

bool peer_core::logged_in() const { return phase_ == phase::logged_in; }

bool peer_core::busy() const {
  return phase_ == phase::login_step ||
         (phase_ == phase::logged_in && awaiting_ != awaiting::nothing);
}

bool peer_core::ready_for_input() const {
  if (phase_ == phase::done || input_closed_) return false;
  if (!busy() && queue_.empty()) return true;
  // The consent prompt takes the next line, whatever waits.
  if (phase_ == phase::logged_in && private_chats_.asking()) return true;
  // While a command's reply is awaited a script is read a little ahead, so a private line for
  // an open chat can pass the wait (SPEC 8.6); the rest keeps its place in the queue.
  return phase_ == phase::logged_in &&
         (awaiting_ == awaiting::reply || awaiting_ == awaiting::user_list) &&
         queue_.size() < max_read_ahead_lines;
}

// ---------------------------------------------------------------- input

void peer_core::on_connected(effects& out) {
  // Announced before login, so the registry knows where to send chat requests by the time
  // anyone is told this user logged in.
  if (private_port_ != 0) out.sends.emplace_back(proto::private_listen{private_port_});
  ask(phase::username, out);
}

void peer_core::on_line(std::string line, effects& out) {
  accept(input{std::move(line), false}, out);
}

void peer_core::on_line_too_long(effects& out) { accept(input{{}, true}, out); }

void peer_core::accept(input item, effects& out) {
  if (phase_ == phase::done || input_closed_) return;
  // After logout is sent nothing more can be done in this session.
  if (awaiting_ == awaiting::session_end) return;
  if (item.line.size() > max_line_bytes) item = input{{}, true};
  if (handle_out_of_turn(item, out)) return;
  if (busy() || !queue_.empty()) {
    if (queue_.size() >= max_pending_lines) {
      out.print(texts::too_many_pending);
      return;
    }
    queue_.push_back(std::move(item));
    return;
  }
  handle(std::move(item), out);
  drain(out);
}

bool peer_core::handle_out_of_turn(const input& item, effects& out) {
  if (phase_ != phase::logged_in) return false;
  // Typed after the consent prompt showed, so it is the answer (lines typed before it are
  // already in the queue).
  if (private_chats_.asking()) {
    answer_offer(item, out);
    return true;
  }
  if (item.too_long) return false;
  const auto parsed = parse_command(item.line);
  const auto* cmd = std::get_if<command>(&parsed);
  if (!cmd) return false;
  // Only a line for a chat that is open: its error text, if any, keeps its place in line (the
  // e2e harness relies on `stopprivate` of no chat being answered in order).
  const bool for_open_chat = (std::holds_alternative<private_command>(*cmd) &&
                              private_chats_.is_open(std::get<private_command>(*cmd).to)) ||
                             (std::holds_alternative<stopprivate_command>(*cmd) &&
                              private_chats_.is_open(std::get<stopprivate_command>(*cmd).user));
  if (!for_open_chat) return false;
  execute(*cmd, item.line, out);
  if (phase_ != phase::done && !busy() && queue_.empty()) ask(phase::logged_in, out);
  return true;
}

void peer_core::answer_offer(const input& item, effects& out) {
  if (item.too_long || !private_chats_.answer(strip_carriage_return(item.line), out)) {
    // Anything but y or n asks again.
    out.display.emplace_back(show_prompt{prompt_});
    return;
  }
  ask(phase::logged_in, out);
}

void peer_core::on_input_closed(effects& out) {
  if (phase_ == phase::done || input_closed_) return;
  input_closed_ = true;
  drain(out);
}

void peer_core::on_interrupt(stop_signal signal, effects& out) {
  if (phase_ == phase::done) return;
  if (phase_ != phase::logged_in)
    return finish(signal == stop_signal::interrupt ? exit_interrupted : exit_success, out);
  // A second interrupt while the registry has not yet confirmed the logout quits at once.
  if (awaiting_ == awaiting::session_end) return finish(exit_success, out);
  queue_.clear();
  log_out(out);
}

void peer_core::drain(effects& out) {
  while (!busy() && !queue_.empty() && phase_ != phase::done) {
    auto item = std::move(queue_.front());
    queue_.pop_front();
    handle(std::move(item), out);
  }
  if (!busy() && queue_.empty() && input_closed_) finish_input(out);
}

void peer_core::finish_input(effects& out) {
  switch (phase_) {
    case phase::logged_in:
      if (awaiting_ == awaiting::nothing) log_out(out);
      return;
    case phase::username:
    case phase::password:
    case phase::new_password: return finish(exit_success, out);
    case phase::login_step:
    case phase::done: return;
  }
}

void peer_core::handle(input item, effects& out) {
  switch (phase_) {
    case phase::username: return handle_username(item, out);
    case phase::password: return handle_password(item, out);
    case phase::new_password: return handle_new_password(item, out);
    case phase::logged_in: return handle_command(item, out);
    case phase::login_step:
    case phase::done: return;
  }
}

void peer_core::handle_username(const input& item, effects& out) {
  const auto name = strip_carriage_return(item.line);
  if (item.too_long || !proto::is_valid_name(name)) {
    out.print(texts::invalid_username);
    out.print(texts::username_hint);
    return ask(phase::username, out);
  }
  username_ = std::string(name);
  send_login(proto::login_name{proto::name_string(username_)}, out);
}

void peer_core::handle_password(const input& item, effects& out) {
  const auto password = strip_carriage_return(item.line);
  // No stored password can be longer than its bound or hold control characters, so such an
  // answer is wrong whatever it is. It goes to the registry as the empty password (which never
  // matches) so that the registry stays the one judge of failures and lockouts.
  const bool sendable = !item.too_long && is_sendable_password(password);
  send_login(proto::login_password{proto::password_string(sendable ? password : "")}, out);
}

void peer_core::handle_new_password(const input& item, effects& out) {
  const auto password = strip_carriage_return(item.line);
  if (item.too_long || !proto::is_valid_new_password(password)) {
    out.print(texts::invalid_new_password);
    out.print(texts::password_hint);
    return ask(phase::new_password, out);
  }
  send_login(proto::login_password{proto::password_string(password)}, out);
}

// ---------------------------------------------------------------- helpers

void peer_core::ask(phase next, effects& out) {
  phase_ = next;
  switch (next) {
    case phase::username:
      prompt_ =
          prompt{std::string(texts::username_prompt), false, false, false, prompt_kind::username};
      break;
    case phase::password:
      prompt_ =
          prompt{std::string(texts::password_prompt), true, false, false, prompt_kind::password};
      break;
    case phase::new_password:
      prompt_ = prompt{std::string(texts::new_password_prompt), true, false, false,
                       prompt_kind::new_password};
      break;
    // Between a login answer and its reply nothing is shown, and type-ahead is hidden: the next
    // line is most likely a password.
    case phase::login_step: prompt_ = prompt{"", true, false}; break;
    case phase::logged_in:
      // A consent request takes the prompt until it is answered; answers never go to history.
      if (private_chats_.asking()) {
        auto consent =
            prompt{private_chats_.consent_prompt(), false, false, true, prompt_kind::consent};
        // Lines handled from the queue while it is shown do not repeat it.
        if (consent == prompt_) return;
        prompt_ = std::move(consent);
      } else {
        prompt_ = prompt{config_.command_prompt, false, true, false, prompt_kind::command};
      }
      break;
    case phase::done: prompt_ = prompt{}; return;
  }
  out.display.emplace_back(show_prompt{prompt_});
}

void peer_core::send_login(proto::client_message message, effects& out) {
  out.sends.push_back(std::move(message));
  ask(phase::login_step, out);
}

void peer_core::request(proto::client_message message, awaiting what, std::string_view line,
                        effects& out) {
  out.sends.push_back(std::move(message));
  awaiting_ = what;
  unconfirmed_.emplace_back(strip_carriage_return(line));
}

void peer_core::log_out(effects& out) {
  // With the registry gone there is nobody to tell; the chats close as the peer ends. The same
  // while reconnecting: the registry announces the logout when the resume window ends.
  if (registry_lost_ || reconnecting_) return finish(exit_failure, out);
  out.sends.emplace_back(std::in_place_type<proto::logout_request>);
  awaiting_ = awaiting::session_end;
}

void peer_core::finish(int code, effects& out) {
  phase_ = phase::done;
  prompt_ = prompt{};
  queue_.clear();
  out.exit_code = code;
}

void peer_core::remember_name(std::string_view name) {
  if (name.empty() || name == username_ || known_names_.size() >= max_known_names) return;
  known_names_.emplace(name);
}

}  // namespace parley::peer
