// The core's own part: the phase machine (which message each phase accepts), dispatch to the
// feature that handles it, a session's life from connect to disconnect, and the deadlines (SPEC
// 3.6's login deadline, SPEC 5's idle timeout). The features live beside it, one file each:
// login.cpp and lockout.cpp (SPEC 3), messaging.cpp and blocks.cpp (SPEC 4, 6), presence.cpp
// (SPEC 4's whoelse, SPEC 7), private_broker.cpp (SPEC 8).
#include "registry/core/registry_core.hpp"

#include "registry/core/accounts.hpp"
#include "registry/core/address_budget.hpp"
#include "registry/core/blocks.hpp"
#include "registry/core/deadline_queue.hpp"
#include "registry/core/durable.hpp"
#include "registry/core/lockout.hpp"
#include "registry/core/login.hpp"
#include "registry/core/mailbox.hpp"
#include "registry/core/messaging.hpp"
#include "registry/core/presence.hpp"
#include "registry/core/private_broker.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/reply_gate.hpp"
#include "registry/core/session.hpp"
#include "shared/util/overloaded.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace parley::registry {

const char* describe(end_cause cause) {
  switch (cause) {
    case end_cause::logged_out: return "logged out";
    case end_cause::inactivity: return "inactivity timeout";
    case end_cause::locked_out: return "account locked";
    case end_cause::login_timeout: return "login not completed in time";
    case end_cause::protocol_error: return "protocol error";
    case end_cause::shutdown: return "registry shutting down";
    case end_cause::overloaded: return "too many frames waiting for the store";
    case end_cause::login_budget: return "too many failed logins from its address";
    case end_cause::signup_budget: return "new accounts refused";
    case end_cause::hash_busy: return "password hashing queue full";
  }
  return "unknown cause";
}

const char* describe(phase at) {
  switch (at) {
    case phase::awaiting_hello: return "awaiting hello";
    case phase::awaiting_name: return "awaiting a user name";
    case phase::awaiting_password: return "awaiting a password";
    case phase::awaiting_new_password: return "awaiting a new password";
    case phase::verifying: return "checking a password";
    case phase::creating: return "creating an account";
    case phase::online: return "logged in";
    case phase::closing: return "closing";
  }
  return "unknown phase";
}

namespace {

// Indexed by the wire tag of proto::client_message, for protocol-error details.
constexpr std::array<const char*, std::variant_size_v<proto::client_message>> message_names{
    "client_hello",   "login_name",     "login_password",  "direct_message", "broadcast",
    "who_else",       "who_else_since", "block_user",      "unblock_user",   "logout",
    "activity",       "private_listen", "private_request", "private_answer", "stored_received",
    "private_invite", "private_consent"};

bool accepts(phase at, const proto::client_message& message) {
  return std::visit(
      [at]<class M>(const M&) {
        if constexpr (std::is_same_v<M, proto::client_hello>) {
          return at == phase::awaiting_hello;
        } else if constexpr (std::is_same_v<M, proto::login_name>) {
          return at == phase::awaiting_name;
        } else if constexpr (std::is_same_v<M, proto::login_password>) {
          return at == phase::awaiting_password || at == phase::awaiting_new_password;
        } else if constexpr (std::is_same_v<M, proto::private_listen>) {
          // Announced as soon as the peer has said hello, so the port is known before anyone
          // is told this user logged in and may ask for a chat.
          return at != phase::awaiting_hello;
        } else {
          return at == phase::online;
        }
      },
      message);
}

}  // namespace

struct core::state {
  state(core_config c, storage_snapshot snapshot)
      : config(std::move(c)),
        gate(config.max_held_bytes),
        store(gate),
        replies(gate),
        locks(store, config.max_failed_attempts, config.block_duration),
        failure_budget(config.login_failures, config.max_budget_addresses),
        signup_budget(config.signups, config.max_budget_addresses),
        login(accounts, locks, login_guards{failure_budget, signup_budget, config.max_accounts},
              sessions, store, replies),
        messaging(config.max_offline_per_recipient, store, sessions, accounts, blocks, replies),
        mail(config.mailbox_page_rows, config.mailbox_page_bytes, store, gate, accounts, replies),
        presence(sessions, accounts, blocks, replies),
        broker(config.max_private_offers, config.new_token, sessions, accounts, blocks, replies) {
    if (!config.new_token) throw std::invalid_argument("core_config::new_token is required");
    accounts.load(std::move(snapshot.accounts), snapshot.mailboxes);
    blocks.load(std::move(snapshot.blocks));
  }

  core_config config;
  reply_gate gate;
  durable store;
  registry::replies replies;
  account_book accounts;
  block_list blocks;
  session_table sessions;
  deadline_queue deadlines;
  lockout locks;
  address_budget failure_budget;
  address_budget signup_budget;
  login_flow login;
  registry::messaging messaging;
  registry::mailbox mail;
  registry::presence presence;
  private_broker broker;

  // ------------------------------------------------------------------ dispatch

  // Every message a phase accepts, and the feature that handles it.
  void dispatch(session_id id, session& s, const proto::client_message& message, time_point now,
                effects& out) {
    std::visit(
        overloaded{
            [&](const proto::client_hello& m) {
              apply(id, s, login.on_hello(id, s, m, out), now, out);
            },
            [&](const proto::login_name& m) {
              apply(id, s, login.on_name(id, s, m, now, out), now, out);
            },
            [&](const proto::login_password& m) {
              apply(id, s, login.on_password(id, s, m, now, out), now, out);
            },
            [&](const proto::direct_message& m) { messaging.on_direct(id, s, m, now, out); },
            [&](const proto::broadcast_message& m) { messaging.on_broadcast(id, s, m, out); },
            [&](const proto::who_else&) { presence.on_who_else(id, s, out); },
            [&](const proto::who_else_since& m) { presence.on_who_else_since(id, s, m, now, out); },
            [&](const proto::block_user& m) { messaging.on_block(id, s, m, out); },
            [&](const proto::unblock_user& m) { messaging.on_unblock(id, s, m, out); },
            [&](const proto::logout_request&) {
              end_with(id, s, proto::end_reason::logged_out, end_cause::logged_out, "logout", now,
                       out);
            },
            // The clock was reset before dispatch; that is all activity does.
            [&](const proto::activity&) {},
            [&](const proto::private_listen& m) { broker.on_listen(s, m); },
            [&](const proto::private_request& m) { broker.on_request(id, s, m, out); },
            [&](const proto::private_answer& m) { broker.on_answer(id, s, m, out); },
            [&](const proto::private_invite& m) { broker.on_invite(id, s, m, out); },
            [&](const proto::private_consent& m) { broker.on_consent(id, s, m, out); },
            [&](const proto::stored_received& m) { mail.on_confirm(id, s, m.up_to); },
        },
        message);
  }

  // What a login step asked for.
  void apply(session_id id, session& s, const login_step& step, time_point now, effects& out) {
    switch (step.what) {
      case login_step::next::wait: return;
      case login_step::next::enter: return enter(id, s, now, out);
      case login_step::next::end_locked:
        return finish(id, s, end_cause::locked_out, step.detail, out);
      case login_step::next::refused: return finish(id, s, step.cause, step.detail, out);
      case login_step::next::protocol_error:
        return end_with(id, s, proto::end_reason::protocol_error, end_cause::protocol_error,
                        step.detail, now, out);
    }
  }

  // ------------------------------------------------------------------ a session's life

  time_point deadline_of(const session& s) const {
    return s.since + (s.at == phase::online ? config.idle_timeout : config.login_deadline);
  }

  void enter(session_id id, session& s, time_point now, effects& out) {
    const time_point login_due = deadline_of(s);
    s.at = phase::online;
    s.since = now;
    sessions.go_online(id, s);
    out.logins.push_back(id);
    // The login deadline already queued for this session pushes it back at its idle deadline
    // when it comes due, so a second entry is needed only when the idle deadline comes first.
    // Otherwise it would double the queue for as long as the user stays online.
    if (const time_point idle_due = deadline_of(s); idle_due < login_due)
      deadlines.push(idle_due, id);

    replies.login(out, id, proto::login_result::welcome);
    store.ask(store_request::record_login{s.name, now});
    // SPEC 3.5: the stored messages first, then the others hear of the login (at once when
    // there are none, else once they have been read: on_store_done).
    if (!mail.open(id, s, out)) presence.entered(id, s.name, out);
  }

  // The user is no longer online. `tell_others` is false only at shutdown, when everyone goes.
  // `reachable`: the connection is still there (not lost, not dropped without a last frame).
  void leave(session_id id, session& s, time_point now, bool tell_others, effects& out,
             bool reachable = true) {
    broker.settle(s, out);
    // A login not announced yet (its mailbox still being read) is not followed by a logout.
    presence.leaving(s.name, tell_others && !mail.reading(id), reachable, out);
    sessions.go_offline(s);
    mail.forget(id, out);
    // Login history is best effort: whoelsesince reads the in-memory time below.
    store.ask(store_request::record_logout{s.name, now});
    accounts.note_logout(s.name, now);
  }

  // The core is done with this session: the shell flushes what was sent and closes it. While
  // the session's frames wait for the store, its end waits behind them.
  void finish(session_id id, session& s, end_cause cause, std::string detail, effects& out) {
    login.release(id, s);
    s.at = phase::closing;
    effects::end end{id, cause, std::move(detail)};
    if (gate.holds(id))
      gate.hold_end(id, std::move(end));
    else
      out.ends.push_back(std::move(end));
  }

  void end_with(session_id id, session& s, proto::end_reason reason, end_cause cause,
                std::string detail, time_point now, effects& out) {
    if (s.at == phase::online) leave(id, s, now, reason != proto::end_reason::shutdown, out);
    replies.end(out, id, reason);
    finish(id, s, cause, std::move(detail), out);
  }

  void expire(session_id id, time_point now, effects& out) {
    session* s = sessions.find(id);
    // Entries of sessions that have gone or are already ending are simply dropped.
    if (!s || s->at == phase::closing) return;
    const time_point due = deadline_of(*s);
    if (due > now) {
      deadlines.push(due, id);
      return;
    }
    if (s->at == phase::online)
      end_with(id, *s, proto::end_reason::inactivity, end_cause::inactivity,
               "no command for the idle timeout", now, out);
    else
      end_with(id, *s, proto::end_reason::login_timeout, end_cause::login_timeout,
               std::string("login not completed in time (") + describe(s->at) + ")", now, out);
  }

  // ------------------------------------------------------------------ the store's answers

  void answer(store_done& done, time_point now, effects& out) {
    auto waiter = store.take_waiter(done.ticket);
    if (!waiter) return;
    using kind = store_waiter::kind;
    const session_id id = waiter->session;
    switch (waiter->what) {
      case kind::ordered: return gate.complete(id, done.ticket, {}, out);
      case kind::account_created: {
        // Committed: the account exists, whether or not its session is still there.
        if (done.ok) accounts.add(waiter->subject, std::move(waiter->other));
        session* s = sessions.find(id);
        if (s && s->at == phase::creating)
          apply(id, *s, login.on_account_stored(id, *s, done.ok), now, out);
        return;
      }
      case kind::blocked:
      case kind::unblocked:
      case kind::offline_stored:
        return gate.complete(id, done.ticket, {messaging.on_written(*waiter, done.ok)}, out);
      case kind::mailbox_page: {
        if (!mail.on_page(id, waiter->subject, done.ticket, done, out)) return;
        if (const session* s = sessions.find(id); s && s->at == phase::online)
          presence.entered(id, s->name, out);
        return;
      }
      case kind::mailbox_deleted: return mail.on_deleted(*waiter, done);
    }
  }

  // At the end of every call into the core: sessions whose waiting frames passed their bound
  // are dropped (like slow readers, without a last frame), and the store jobs go to the shell.
  void end_turn(time_point now, effects& out) {
    for (const session_id id : gate.take_overflowed()) {
      session* s = sessions.find(id);
      gate.forget(id);
      if (!s || s->at == phase::closing) continue;
      if (s->at == phase::online) leave(id, *s, now, true, out, false);
      login.release(id, *s);
      s->at = phase::closing;
      out.ends.push_back(
          effects::end{id, end_cause::overloaded,
                       "over " + std::to_string(config.max_held_bytes) +
                           " bytes of frames waiting for the store to answer its commands"});
    }
    store.drain_into(out.writes);
  }
};

core::core(core_config config, storage_snapshot snapshot)
    : state_(std::make_unique<state>(std::move(config), std::move(snapshot))) {}

core::~core() = default;

void core::on_connect(session_id id, const std::string& address, time_point now,
                      effects& /*out: nothing to say before the peer's hello*/) {
  session* s = state_->sessions.add(id);
  // The shell never reuses a live id; if it did, the first session keeps its state.
  if (!s) return;
  s->address = address;
  s->since = now;
  state_->deadlines.push(state_->deadline_of(*s), id);
}

void core::on_message(session_id id, const proto::client_message& message, time_point now,
                      effects& out) {
  session* s = state_->sessions.find(id);
  // Unknown, or the end is already on its way: whatever the peer still sent is moot.
  if (!s || s->at == phase::closing) return;

  if (!accepts(s->at, message)) {
    state_->end_with(
        id, *s, proto::end_reason::protocol_error, end_cause::protocol_error,
        std::string(message_names[message.index()]) + " not allowed while " + describe(s->at), now,
        out);
    return;
  }
  // Every well-formed command of a logged-in user is activity (SPEC 5); the port announcement
  // is the peer's own doing, not a command.
  // Nor is a confirmation of stored messages: receiving is not activity.
  if (s->at == phase::online && !std::holds_alternative<proto::private_listen>(message) &&
      !std::holds_alternative<proto::stored_received>(message)) {
    s->since = now;
    state_->presence.before_command(id, out);
  }
  state_->dispatch(id, *s, message, now, out);
  state_->end_turn(now, out);
}

void core::on_hash_done(const hash_done& result, time_point now, effects& out) {
  session* s = state_->sessions.find(result.session);
  // A ticket identifies one job: an answer for an abandoned attempt is not this one.
  if (!s || result.ticket != s->ticket) return;
  state_->apply(result.session, *s,
                state_->login.on_hash_done(result.session, *s, result, now, out), now, out);
  state_->end_turn(now, out);
}

void core::on_store_done(std::vector<store_done>& results, time_point now, effects& out) {
  for (auto& done : results) state_->answer(done, now, out);
  state_->end_turn(now, out);
}

bool core::accepts_input(session_id id) const {
  const std::size_t pending = state_->store.pending(id);
  if (pending >= state_->config.max_pending_writes_per_session) return false;
  return pending == 0 || state_->store.pending_bytes() <= state_->config.max_pending_write_bytes;
}

void core::on_disconnect(session_id id, time_point now, effects& out) {
  session* s = state_->sessions.find(id);
  if (!s) return;
  // A lost connection is announced like a logout (SPEC 7); an ended session already was.
  if (s->at == phase::online) state_->leave(id, *s, now, true, out, false);
  state_->login.release(id, *s);
  state_->gate.forget(id);
  state_->mail.forget(id, out);
  state_->sessions.erase(id);
  state_->end_turn(now, out);
}

void core::on_tick(time_point now, effects& out) {
  state_->deadlines.pop_due(now, [&](session_id id) { state_->expire(id, now, out); });
  state_->end_turn(now, out);
}

std::optional<time_point> core::next_deadline() const { return state_->deadlines.earliest(); }

void core::on_turn_end(time_point now, effects& out) {
  state_->presence.flush(out);
  state_->end_turn(now, out);
}

bool core::turn_end_pending() const { return state_->presence.has_pending(); }

void core::on_shutdown(time_point now, effects& out) {
  // In id order, so the shell (and the log) sees the same sequence on every run.
  std::vector<session_id> ids;
  ids.reserve(state_->sessions.size());
  for (const auto& [id, s] : state_->sessions.all())
    if (s.at != phase::closing) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  // Every waiting requester hears no before any session_end, which must be a session's last
  // frame.
  for (const session_id id : ids) {
    session& s = state_->sessions.at(id);
    if (s.at == phase::online) state_->broker.decline_waiting(s, out);
  }
  for (const session_id id : ids)
    state_->end_with(id, state_->sessions.at(id), proto::end_reason::shutdown, end_cause::shutdown,
                     "registry shutting down", now, out);
  state_->end_turn(now, out);
}

bool core::logged_in(session_id id) const {
  const session* s = std::as_const(state_->sessions).find(id);
  return s && s->at == phase::online;
}

std::string_view core::user_of(session_id id) const {
  const session* s = std::as_const(state_->sessions).find(id);
  return s && s->at == phase::online ? std::string_view(s->name) : std::string_view();
}

std::size_t core::sessions() const { return state_->sessions.size(); }

std::size_t core::online_users() const { return state_->sessions.online().size(); }

}  // namespace parley::registry
