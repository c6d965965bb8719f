#include "peer/core/peer_core.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/text.hpp"
#include "shared/util/overloaded.hpp"

#include <type_traits>
#include <utility>

namespace parley::peer {
namespace {

// A password the protocol can carry: at most its bound, no control characters, UTF-8.
bool is_sendable_password(std::string_view password) {
  return password.size() <= proto::max_password_bytes && !proto::has_ascii_control(password) &&
         proto::is_valid_utf8(password);
}

// The help line of one command: its usage padded to a column, the summary, then its aliases.
std::string help_line(const command_info& info) {
  // Wide enough for the longest usage, `message <user> <message>`, and two spaces.
  constexpr std::size_t usage_column = 26;
  std::string usage(info.name);
  if (!info.arguments.empty()) usage += " " + std::string(info.arguments);
  if (usage.size() < usage_column) usage.resize(usage_column, ' ');
  auto line = usage + std::string(info.summary);
  for (std::size_t i = 0; i < info.aliases.size(); ++i)
    line += (i == 0 ? " (also: " : ", ") + std::string(info.aliases[i]);
  if (!info.aliases.empty()) line += ")";
  return line;
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
  execute(*cmd, out);
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

void peer_core::on_interrupt(effects& out) {
  if (phase_ == phase::done) return;
  if (phase_ != phase::logged_in) return finish(exit_success, out);
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

void peer_core::handle_command(const input& item, effects& out) {
  if (item.too_long) {
    out.print(texts::message_too_long);
    return ask(phase::logged_in, out);
  }
  if (is_blank(item.line)) return ask(phase::logged_in, out);
  const auto parsed = parse_command(item.line);
  if (const auto* error = std::get_if<parse_error>(&parsed)) {
    out.print(describe(*error));
    return ask(phase::logged_in, out);
  }
  execute(std::get<command>(parsed), out);
  if (!busy() && phase_ != phase::done) ask(phase::logged_in, out);
}

bool peer_core::refuse_without_registry(effects& out) {
  if (!registry_lost_) return false;
  out.print(texts::not_connected);
  return true;
}

void peer_core::report_activity(effects& out) {
  // The registry only learns that the user is active: private traffic never goes through it,
  // and nothing waits for an answer.
  if (!registry_lost_) out.sends.emplace_back(std::in_place_type<proto::activity>);
}

void peer_core::execute(const command& cmd, effects& out) {
  const bool local = std::holds_alternative<private_command>(cmd) ||
                     std::holds_alternative<stopprivate_command>(cmd) ||
                     std::holds_alternative<help_command>(cmd) ||
                     std::holds_alternative<logout_command>(cmd);
  if (!local && refuse_without_registry(out)) return;
  std::visit(
      overloaded{
          [&](const message_command& c) {
            pending_target_ = c.to;
            request(proto::direct_message{proto::name_string(c.to), proto::text_string(c.text)},
                    awaiting::reply, out);
          },
          [&](const broadcast_command& c) {
            request(proto::broadcast_message{proto::text_string(c.text)}, awaiting::reply, out);
          },
          [&](const whoelse_command&) { request(proto::who_else{}, awaiting::user_list, out); },
          [&](const whoelsesince_command& c) {
            request(proto::who_else_since{c.seconds}, awaiting::user_list, out);
          },
          [&](const block_command& c) {
            request(proto::block_user{proto::name_string(c.user)}, awaiting::reply, out);
          },
          [&](const unblock_command& c) {
            request(proto::unblock_user{proto::name_string(c.user)}, awaiting::reply, out);
          },
          [&](const logout_command&) { log_out(out); },
          [&](const startprivate_command& c) {
            if (private_chats_.may_request(c.user, out))
              request(proto::private_request{proto::name_string(c.user)}, awaiting::reply, out);
          },
          [&](const private_command& c) {
            if (private_chats_.send(c.to, c.text, out)) report_activity(out);
          },
          [&](const stopprivate_command& c) {
            if (!private_chats_.stop(c.user, out)) return;
            report_activity(out);
            check_last_chat(out);
          },
          [&](const help_command&) {
            for (const auto& info : command_table()) out.print(help_line(info));
          },
      },
      cmd);
}

// ---------------------------------------------------------------- registry messages

void peer_core::on_message(const proto::server_message& message, time_point now, effects& out) {
  if (phase_ == phase::done) return;
  std::visit(
      overloaded{
          // The registry's hello carries nothing the peer acts on yet.
          [&](const proto::server_hello&) {},
          [&](const proto::login_reply& m) { on_login_reply(m, out); },
          [&](const proto::delivery& m) {
            remember_name(m.from.value);
            out.print(texts::delivery(m.from.value, proto::escape_for_terminal(m.text.value)));
          },
          [&](const proto::presence& m) {
            remember_name(m.user.value);
            out.print(m.online ? texts::logged_in(m.user.value) : texts::logged_out(m.user.value));
            // Its connection may not have broken yet (a frozen process, a lost route).
            if (!m.online) private_chats_.on_user_offline(m.user.value, out);
          },
          [&](const proto::command_reply& m) { on_command_reply(m, out); },
          [&](const proto::user_list& m) { on_user_list(m, out); },
          [&](const proto::session_end& m) { on_session_end(m, out); },
          [&](const proto::private_offer& m) { on_offer(m, out); },
          [&](const proto::private_expect& m) { private_chats_.on_expect(m, now); },
          [&](const proto::private_granted& m) {
            remember_name(m.peer.value);
            private_chats_.on_granted(m, out);
          },
          [&](const proto::private_declined& m) { private_chats_.on_declined(m.peer.value, out); },
      },
      message);
}

void peer_core::on_login_reply(const proto::login_reply& reply, effects& out) {
  // A login reply nobody asked for cannot be placed; it is ignored.
  if (phase_ != phase::login_step) return;
  using proto::login_result;
  switch (reply.result) {
    case login_result::ask_password: ask(phase::password, out); break;
    case login_result::ask_new_password: ask(phase::new_password, out); break;
    case login_result::already_logged_in:
      out.print(texts::already_logged_in(username_));
      ask(phase::username, out);
      break;
    case login_result::welcome:
      out.print(texts::welcome);
      private_chats_.set_own_name(username_);
      ask(phase::logged_in, out);
      break;
    case login_result::invalid_password:
      out.print(texts::invalid_password);
      ask(phase::password, out);
      break;
    case login_result::invalid_now_locked:
      out.print(texts::invalid_now_locked);
      return finish(exit_failure, out);
    case login_result::account_locked:
      out.print(texts::account_locked);
      return finish(exit_failure, out);
    case login_result::invalid_new_password:
      out.print(texts::invalid_new_password);
      out.print(texts::password_hint);
      ask(phase::new_password, out);
      break;
  }
  drain(out);
}

void peer_core::on_command_reply(const proto::command_reply& reply, effects& out) {
  if (phase_ != phase::logged_in) return;
  const auto& subject = reply.subject.value;
  using proto::outcome;
  switch (reply.result) {
    case outcome::message_delivered:
    case outcome::message_stored: remember_name(pending_target_); break;
    case outcome::invalid_user: out.print(texts::invalid_user); break;
    case outcome::cannot_message_self: out.print(texts::cannot_message_self); break;
    case outcome::blocked_by_recipient: out.print(texts::blocked_by_recipient); break;
    case outcome::broadcast_sent: break;
    case outcome::broadcast_partial: out.print(texts::broadcast_partial); break;
    case outcome::blocked:
      remember_name(subject);
      out.print(texts::blocked(subject));
      break;
    case outcome::already_blocked: out.print(texts::already_blocked(subject)); break;
    case outcome::cannot_block_self: out.print(texts::cannot_block_self); break;
    case outcome::unblocked:
      remember_name(subject);
      out.print(texts::unblocked(subject));
      break;
    case outcome::not_blocked: out.print(texts::not_blocked(subject)); break;
    case outcome::cannot_unblock_self: out.print(texts::cannot_unblock_self); break;
    case outcome::no_other_users_online: out.print(texts::no_other_users_online); break;
    case outcome::no_other_users: out.print(texts::no_other_users); break;
    case outcome::store_failed: out.print(texts::store_failed); break;
    case outcome::mailbox_full: out.print(texts::mailbox_full(subject)); break;
    case outcome::private_requested: break;
    case outcome::cannot_private_self: out.print(texts::cannot_private_self); break;
    case outcome::user_offline: out.print(texts::user_offline(subject)); break;
    case outcome::private_blocked: out.print(texts::private_blocked(subject)); break;
    case outcome::private_pending: out.print(texts::private_pending(subject)); break;
    case outcome::private_busy: out.print(texts::private_busy(subject)); break;
    case outcome::private_unavailable: out.print(texts::private_unavailable(subject)); break;
  }
  pending_target_.clear();
  // Every command's one answer is a command_reply, or a user list ended by its final chunk or
  // by one of the two "no other users" replies.
  if (awaiting_ == awaiting::reply || awaiting_ == awaiting::user_list) reply_done(out);
}

void peer_core::on_user_list(const proto::user_list& list, effects& out) {
  if (phase_ != phase::logged_in) return;
  for (const auto& name : list.names.items) {
    remember_name(name.value);
    out.print(name.value);
  }
  if (list.final_chunk && awaiting_ == awaiting::user_list) reply_done(out);
}

void peer_core::reply_done(effects& out) {
  awaiting_ = awaiting::nothing;
  ask(phase::logged_in, out);
  drain(out);
}

void peer_core::on_session_end(const proto::session_end& end, effects& out) {
  using proto::end_reason;
  switch (end.reason) {
    case end_reason::logged_out: return finish(exit_success, out);
    case end_reason::inactivity:
      out.print(texts::logged_out_inactivity);
      return finish(exit_success, out);
    case end_reason::shutdown:
      out.print(texts::registry_shut_down);
      return finish(exit_failure, out);
    case end_reason::login_timeout:
      out.print(texts::login_timed_out);
      return finish(exit_failure, out);
    case end_reason::protocol_error:
      out.print(texts::registry_protocol_error);
      return finish(exit_failure, out);
  }
}

void peer_core::on_disconnected(effects& out) {
  if (phase_ == phase::done || registry_lost_) return;
  // The user asked to leave and the registry has closed: that is the logout, confirmed or not.
  if (awaiting_ == awaiting::session_end) return finish(exit_success, out);
  out.print(texts::lost_connection);
  if (phase_ != phase::logged_in || private_chats_.active_count() == 0)
    return finish(exit_failure, out);
  // Private chats need no registry (SPEC 8.6): they go on, and so does the peer, until the last
  // one ends. Nothing the registry was asked will be answered now.
  out.print(texts::chats_go_on);
  registry_lost_ = true;
  awaiting_ = awaiting::nothing;
  pending_target_.clear();
  private_chats_.drop_offers();
  ask(phase::logged_in, out);
  drain(out);
}

// ---------------------------------------------------------------- private chats

void peer_core::on_offer(const proto::private_offer& offer, effects& out) {
  if (phase_ != phase::logged_in) return;
  remember_name(offer.from.value);
  // The prompt changes only when this offer is the one asked now; the others wait their turn.
  if (private_chats_.on_offer(offer.from.value, out)) ask(phase::logged_in, out);
}

hello_verdict peer_core::on_private_hello(const proto::p2p_hello& hello, time_point now,
                                          effects& out) {
  if (phase_ != phase::logged_in) return hello_verdict::refused;
  const auto verdict = private_chats_.on_hello(hello, now, out);
  if (verdict == hello_verdict::accepted) remember_name(hello.from.value);
  return verdict;
}

void peer_core::on_private_dialed(std::string_view user, bool accepted, effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_dialed(user, accepted, out);
  check_last_chat(out);
}

void peer_core::on_private_message(std::string_view user, const proto::p2p_message& message,
                                   effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_chat_message(user, message, out);
  check_last_chat(out);
}

void peer_core::on_private_closed(std::string_view user, effects& out) {
  if (phase_ == phase::done) return;
  private_chats_.on_chat_closed(user, out);
  check_last_chat(out);
}

void peer_core::check_last_chat(effects& out) {
  if (registry_lost_ && private_chats_.active_count() == 0) finish(exit_failure, out);
}

// ---------------------------------------------------------------- helpers

void peer_core::ask(phase next, effects& out) {
  phase_ = next;
  switch (next) {
    case phase::username:
      prompt_ = prompt{std::string(texts::username_prompt), false, false};
      break;
    case phase::password: prompt_ = prompt{std::string(texts::password_prompt), true, false}; break;
    case phase::new_password:
      prompt_ = prompt{std::string(texts::new_password_prompt), true, false};
      break;
    // Between a login answer and its reply nothing is shown, and type-ahead is hidden: the next
    // line is most likely a password.
    case phase::login_step: prompt_ = prompt{"", true, false}; break;
    case phase::logged_in:
      // A consent request takes the prompt until it is answered; answers never go to history.
      if (private_chats_.asking()) {
        auto consent = prompt{private_chats_.consent_prompt(), false, false};
        // Lines handled from the queue while it is shown do not repeat it.
        if (consent == prompt_) return;
        prompt_ = std::move(consent);
      } else {
        prompt_ = prompt{config_.command_prompt, false, true};
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

void peer_core::request(proto::client_message message, awaiting what, effects& out) {
  out.sends.push_back(std::move(message));
  awaiting_ = what;
}

void peer_core::log_out(effects& out) {
  // With the registry gone there is nobody to tell; the chats close as the peer ends.
  if (registry_lost_) return finish(exit_failure, out);
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

// ---------------------------------------------------------------- completion

std::vector<std::string> peer_core::completions(std::string_view before,
                                                std::string_view word) const {
  std::vector<std::string> matches;
  if (phase_ != phase::logged_in) return matches;
  if (before.empty()) {
    for (const auto& info : command_table())
      if (info.name.starts_with(word)) matches.emplace_back(info.name);
    return matches;
  }
  // Only the word right after a command that takes a user: `<command> <partial name>`.
  if (before.back() != ' ') return matches;
  const auto name = before.substr(0, before.size() - 1);
  const auto* info = find_command(name);
  if (!info || !info->user_argument) return matches;
  for (auto it = known_names_.lower_bound(word); it != known_names_.end(); ++it) {
    if (!std::string_view(*it).starts_with(word)) break;
    matches.push_back(*it);
  }
  return matches;
}

}  // namespace parley::peer
