// What the registry says: login replies, command replies and user lists, deliveries and
// presence, the end of the session, and the loss of the connection.
#include "peer/core/peer_core.hpp"

#include "peer/core/texts.hpp"
#include "shared/proto/text.hpp"
#include "shared/util/overloaded.hpp"

#include <algorithm>
#include <utility>

namespace parley::peer {

void peer_core::on_message(const proto::server_message& message, time_point now, effects& out) {
  if (phase_ == phase::done) return;
  std::visit(
      overloaded{
          // The registry's hello carries nothing the peer acts on yet.
          [&](const proto::server_hello&) {},
          [&](const proto::login_reply& m) { on_login_reply(m, out); },
          [&](const proto::delivery& m) {
            remember_name(m.from.value);
            const auto kind = m.kind == proto::delivery_kind::broadcast ? line_kind::broadcast
                              : m.kind == proto::delivery_kind::offline ? line_kind::offline
                                                                        : line_kind::direct;
            out.print(message_line(
                kind, texts::delivery(m.from.value, proto::escape_for_terminal(m.text.value)),
                m.from.value, m.text.value));
          },
          [&](const proto::presence& m) { on_presence(m, out); },
          // One line per change, in order. The registry shares one frame among many
          // recipients: for one that logged in during the batch, its own login is in it, and
          // only what follows is news to it (docs/PROTOCOL.md, presence_batch).
          [&](const proto::presence_batch& m) {
            const auto& changes = m.changes.items;
            std::size_t first = 0;
            for (std::size_t i = 0; i < changes.size(); ++i)
              if (changes[i].user.value == username_) first = i + 1;
            for (std::size_t i = first; i < changes.size(); ++i) on_presence(changes[i], out);
          },
          [&](const proto::command_reply& m) { on_command_reply(m, out); },
          [&](const proto::user_list& m) { on_user_list(m, out); },
          [&](const proto::session_end& m) { on_session_end(m, out); },
          [&](const proto::private_offer& m) { on_offer(m, out); },
          // Version 3 chats are keyed: the registry sends these only to a private_request or an
          // unkeyed yes, which this peer never sends.
          [&](const proto::private_expect&) {},
          [&](const proto::private_granted&) {},
          [&](const proto::private_declined& m) { private_chats_.on_declined(m.peer.value, out); },
          [&](const proto::stored_message& m) { on_stored_message(m, out); },
          [&](const proto::stored_end&) {
            if (awaiting_ == awaiting::stored) reply_done(out);
          },
          [&](const proto::private_expect_from&) {},
          [&](const proto::private_expect_keyed& m) { private_chats_.on_expect(m, now); },
          [&](const proto::private_granted_keyed& m) {
            remember_name(m.peer.value);
            private_chats_.on_granted(m, out);
          },
          // Kept, in wiped memory, to resume the session with (SPEC 11).
          [&](const proto::session_ticket& m) {
            static_assert(proto::resume_ticket_bytes == crypto::secret_key::size());
            if (!ticket_) ticket_.emplace();
            std::copy(m.ticket.begin(), m.ticket.end(), ticket_->data());
          },
          [&](const proto::resume_reply& m) { on_resume_reply(m, out); },
      },
      message);
}

void peer_core::on_stored_message(const proto::stored_message& m, effects& out) {
  // SPEC 6: shown once, then confirmed, so the registry deletes it. Ids only grow, so one seen
  // again (sent anew after a lost connection, before its confirmation arrived) is not shown;
  // it is confirmed again all the same.
  if (m.id > last_stored_shown_) {
    remember_name(m.from.value);
    out.print(message_line(line_kind::offline,
                           texts::delivery(m.from.value, proto::escape_for_terminal(m.text.value)),
                           m.from.value, m.text.value, m.sent_at_ms));
    last_stored_shown_ = m.id;
  }
  out.sends.emplace_back(proto::stored_received{m.id});
}

void peer_core::on_presence(const proto::presence& m, effects& out) {
  remember_name(m.user.value);
  out.print(
      presence_line(m.online ? texts::logged_in(m.user.value) : texts::logged_out(m.user.value),
                    m.user.value, m.online != 0));
  // Its connection may not have broken yet (a frozen process, a lost route).
  if (!m.online) private_chats_.on_user_offline(m.user.value, out);
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
      // SPEC 3.5: the stored messages come first; what the user typed waits for stored_end.
      awaiting_ = awaiting::stored;
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
    // SPEC 9.1's guards; the registry closes the connection after each.
    case login_result::too_many_login_attempts:
      out.print(texts::too_many_login_attempts);
      return finish(exit_failure, out);
    case login_result::new_accounts_refused:
      out.print(texts::new_accounts_refused);
      return finish(exit_failure, out);
    case login_result::registry_busy:
      out.print(texts::registry_busy);
      return finish(exit_failure, out);
  }
  drain(out);
}

void peer_core::on_command_reply(const proto::command_reply& reply, effects& out) {
  if (phase_ != phase::logged_in) return;
  confirm_oldest();
  const auto& subject = reply.subject.value;
  using proto::outcome;
  switch (reply.result) {
    case outcome::message_delivered:
    case outcome::message_stored: remember_name(pending_target_); break;
    case outcome::invalid_user:
      private_chats_.forget_invite(subject);
      out.print(texts::invalid_user);
      break;
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
    // A refused request's key pair is of no more use (a pending one's is: the registry holds it).
    case outcome::cannot_private_self: out.print(texts::cannot_private_self); break;
    case outcome::user_offline:
      private_chats_.forget_invite(subject);
      out.print(texts::user_offline(subject));
      break;
    case outcome::private_blocked:
      private_chats_.forget_invite(subject);
      out.print(texts::private_blocked(subject));
      break;
    case outcome::private_pending: out.print(texts::private_pending(subject)); break;
    case outcome::private_busy:
      private_chats_.forget_invite(subject);
      out.print(texts::private_busy(subject));
      break;
    case outcome::private_unavailable:
      private_chats_.forget_invite(subject);
      out.print(texts::private_unavailable(subject));
      break;
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
  if (!list.final_chunk) return;
  confirm_oldest();
  if (awaiting_ == awaiting::user_list) reply_done(out);
}

void peer_core::confirm_oldest() {
  if (!unconfirmed_.empty()) unconfirmed_.pop_front();
}

void peer_core::name_unconfirmed(effects& out) {
  const auto name = [&](std::string_view line) {
    out.print(texts::not_confirmed(proto::escape_for_terminal(line)));
  };
  for (const auto& line : unconfirmed_) name(line);
  unconfirmed_.clear();
  // Typed after them, so sent after them had the registry answered: named in that order. What
  // needs no registry (a private line, help, logout, a typing error) keeps its place.
  std::erase_if(queue_, [&](const input& item) {
    if (item.too_long) return false;
    const auto parsed = parse_command(item.line);
    const auto* cmd = std::get_if<command>(&parsed);
    if (!cmd || !needs_registry_answer(*cmd)) return false;
    name(strip_carriage_return(item.line));
    return true;
  });
}

void peer_core::reply_done(effects& out) {
  awaiting_ = awaiting::nothing;
  ask(phase::logged_in, out);
  drain(out);
}

void peer_core::on_session_end(const proto::session_end& end, effects& out) {
  using proto::end_reason;
  // The answer to a resume attempt that did not get through (a registry stopping, or one that
  // still counts the lost connection against the address): another attempt, after its delay.
  if (reconnecting_ &&
      (end.reason == end_reason::shutdown || end.reason == end_reason::shutdown_resumable ||
       end.reason == end_reason::too_many_connections || end.reason == end_reason::login_timeout)) {
    awaiting_ = awaiting::nothing;
    out.reconnect = true;
    return;
  }
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
    case end_reason::too_many_connections:
      out.print(texts::too_many_connections);
      return finish(exit_failure, out);
    case end_reason::tls_required:
      out.print(texts::registry_requires_tls);
      out.print(texts::registry_requires_tls_hint);
      return finish(exit_failure, out);
    case end_reason::tls_not_offered:
      out.print(texts::registry_without_tls);
      out.print(texts::registry_without_tls_hint);
      return finish(exit_failure, out);
    // SPEC 11: the registry stops and keeps the session: as a lost link, resumed once it is
    // back. Without a ticket (or reconnecting) it is the shutdown it would have been.
    case end_reason::shutdown_resumable:
      // A logout in flight is done: the registry ends the session with it.
      if (awaiting_ == awaiting::session_end) return finish(exit_success, out);
      if (phase_ == phase::logged_in && ticket_ && config_.reconnect)
        return start_reconnecting(out);
      out.print(texts::registry_shut_down);
      return finish(exit_failure, out);
    case end_reason::resumed_elsewhere:
      out.print(texts::resumed_elsewhere);
      return finish(exit_failure, out);
  }
}

void peer_core::start_reconnecting(effects& out) {
  out.print(texts::lost_connection);
  name_unconfirmed(out);
  // After the named lines: a hint never precedes its line.
  out.print(texts::reconnecting_hint);
  reconnecting_ = true;
  awaiting_ = awaiting::nothing;
  pending_target_.clear();
  out.reconnect = true;
  ask(phase::logged_in, out);
  drain(out);
}

void peer_core::lose_registry(effects& out) {
  reconnecting_ = false;
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

void peer_core::on_reconnected(effects& out) {
  if (!reconnecting_ || !ticket_ || phase_ != phase::logged_in) return;
  if (private_port_ != 0) out.sends.emplace_back(proto::private_listen{private_port_});
  proto::resume_session resume{proto::name_string(username_), {}};
  std::copy(ticket_->data(), ticket_->data() + ticket_->size(), resume.ticket.begin());
  out.sends.emplace_back(std::move(resume));
  awaiting_ = awaiting::resume;
}

void peer_core::on_reconnect_given_up(long long seconds, effects& out) {
  if (!reconnecting_ || phase_ == phase::done) return;
  out.print(texts::could_not_reconnect);
  out.print(texts::gave_up_hint(seconds));
  lose_registry(out);
}

void peer_core::on_resume_reply(const proto::resume_reply& reply, effects& out) {
  if (!reconnecting_ || awaiting_ != awaiting::resume) return;
  switch (reply.result) {
    case proto::resume_result::resumed:
    case proto::resume_result::relogged:
      reconnecting_ = false;
      out.print(texts::reconnected);
      if (reply.result == proto::resume_result::relogged) {
        out.print(texts::relogged_hint);
        // A new session: its own ticket follows; the old one is dead.
        ticket_.reset();
      }
      if (std::exchange(activity_owed_, false))
        out.sends.emplace_back(std::in_place_type<proto::activity>);
      // Stored messages may follow (SPEC 6): what is typed waits for their end, as at login.
      awaiting_ = awaiting::stored;
      ask(phase::logged_in, out);
      return;
    case proto::resume_result::not_resumable:
      ticket_.reset();
      out.print(texts::could_not_resume);
      out.print(texts::start_again_hint);
      return lose_registry(out);
  }
}

void peer_core::on_disconnected(effects& out) {
  if (phase_ == phase::done || registry_lost_) return;
  // The user asked to leave and the registry has closed: that is the logout, confirmed or not.
  if (awaiting_ == awaiting::session_end) return finish(exit_success, out);
  // An attempt's link ended before its answer (or the session_end{shutdown_resumable} link
  // closed): the shell tries again.
  if (reconnecting_) {
    awaiting_ = awaiting::nothing;
    out.reconnect = true;
    return;
  }
  // SPEC 11: with a ticket, the session is resumed on a new link; the chats go on meanwhile.
  if (phase_ == phase::logged_in && ticket_ && config_.reconnect) return start_reconnecting(out);
  out.print(texts::lost_connection);
  if (phase_ == phase::logged_in) name_unconfirmed(out);
  lose_registry(out);
}

}  // namespace parley::peer
