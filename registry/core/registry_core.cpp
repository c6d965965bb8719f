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
#include "shared/proto/codec.hpp"
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
    case end_cause::not_resumable: return "resume refused";
    case end_cause::resumed_elsewhere: return "resumed on another connection";
    case end_cause::shutdown_resumable: return "registry shutting down, resumable";
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
    case phase::suspended: return "waiting for its resume";
  }
  return "unknown phase";
}

namespace {

// Indexed by the wire tag of proto::client_message, for protocol-error details.
constexpr std::array<const char*, std::variant_size_v<proto::client_message>> message_names{
    "client_hello",   "login_name",      "login_password",  "direct_message", "broadcast",
    "who_else",       "who_else_since",  "block_user",      "unblock_user",   "logout",
    "activity",       "private_listen",  "private_request", "private_answer", "stored_received",
    "private_invite", "private_consent", "resume_session"};

bool accepts(phase at, const proto::client_message& message) {
  return std::visit(
      [at]<class M>(const M&) {
        if constexpr (std::is_same_v<M, proto::client_hello>) {
          return at == phase::awaiting_hello;
        } else if constexpr (std::is_same_v<M, proto::login_name> ||
                             std::is_same_v<M, proto::resume_session>) {
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
        broker(config.max_private_offers, config.new_token, sessions, accounts, blocks, replies),
        resumes(config.resume) {
    if (!config.new_token) throw std::invalid_argument("core_config::new_token is required");
    accounts.load(std::move(snapshot.accounts), snapshot.mailboxes);
    blocks.load(std::move(snapshot.blocks));
    stored_tickets = std::move(snapshot.tickets);
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
  resume_book resumes;
  // The tickets read at start-up, until on_start.
  std::vector<ticket_record> stored_tickets;
  session_id next_restored = restored_ids;

  // The reply-gate slot the frames of a suspended session wait behind (store tickets count up
  // from 1 and never reach it), and the ids of sessions restored at a start (the shell counts
  // its connections up from 1 and never reaches them either).
  static constexpr std::uint64_t hold_ticket = ~std::uint64_t{0};
  static constexpr session_id restored_ids = session_id{1} << 63;

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
            [&](const proto::resume_session& m) { on_resume(id, s, m, now, out); },
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
    if (s.at == phase::suspended) {
      // The window's end, or the idle timeout if that comes first: the idle clock runs on.
      const time_point idle_due = s.since + config.idle_timeout;
      const auto* e = resumes.find(s.name);
      return e && e->grace_until ? std::min(*e->grace_until, idle_due) : idle_due;
    }
    return s.since + (s.at == phase::online ? config.idle_timeout : config.login_deadline);
  }

  // `by_ticket`: a re-login with the ticket of a session whose window had ended (SPEC 11),
  // answered with resume_reply{relogged} instead of the welcome.
  void enter(session_id id, session& s, time_point now, effects& out, bool by_ticket = false) {
    // A session of this user waiting for its resume is over: a login replaces it (SPEC 11).
    // Its logout and this login are announced in that order, in the same batch.
    if (const auto waiting = sessions.online_id(s.name);
        waiting && sessions.at(*waiting).at == phase::suspended)
      end_window(*waiting, now, out, true);
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

    if (by_ticket)
      replies.resume(out, id, proto::resume_result::relogged);
    else
      replies.login(out, id, proto::login_result::welcome);
    issue_ticket(id, s, now);
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
    if (s.at == phase::online) {
      leave(id, s, now, reason != proto::end_reason::shutdown, out);
      // A logout, a timeout or a broken protocol ends the session for good (SPEC 11: a
      // logged-out session cannot be resumed).
      revoke_ticket(s.name);
    }
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
    if (s->at == phase::suspended)
      end_window(id, now, out, false);
    else if (s->at == phase::online)
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
      case kind::ticket_issued: {
        std::vector<proto::frame_ptr> frames;
        // Still the account's ticket? (A newer login may have replaced it, or it was revoked
        // meanwhile: then it is not sent at all.)
        const auto* e = resumes.find(waiter->subject);
        const bool current = e && waiter->other.size() == proto::resume_ticket_bytes &&
                             e->digest == waiter_digest(*waiter);
        if (current && done.ok) {
          proto::session_ticket ticket;
          std::copy(waiter->other.begin(), waiter->other.end(), ticket.ticket.begin());
          frames.push_back(proto::make_frame(ticket));
          resumes.mark_sent(waiter->subject);
          std::fill(ticket.ticket.begin(), ticket.ticket.end(), std::uint8_t{0});
        } else if (current) {
          // Not stored, so not sent; and whatever older ticket the file still holds for the
          // account must not come back after a restart.
          revoke_ticket(waiter->subject);
        }
        std::fill(waiter->other.begin(), waiter->other.end(), '\0');
        return gate.complete(id, done.ticket, std::move(frames), out);
      }
    }
  }

  ticket_digest waiter_digest(const store_waiter& waiter) const {
    proto::resume_ticket ticket{};
    if (waiter.other.size() != ticket.size()) return {};
    std::copy(waiter.other.begin(), waiter.other.end(), ticket.begin());
    return resumes.options().digest_ticket(ticket);
  }

  // ------------------------------------------------------------------ SPEC 11: resuming

  // A fresh ticket for the session, sent once its digest is committed (the session's later
  // frames wait for it, as behind any acknowledged write).
  void issue_ticket(session_id id, const session& s, time_point now) {
    if (!resumes.enabled()) return;
    const proto::resume_ticket ticket = resumes.issue(s.name);
    store.ask_before_reply(id,
                           store_request::issue_ticket{s.name, resumes.find(s.name)->digest, now},
                           store_waiter{.what = store_waiter::kind::ticket_issued,
                                        .subject = s.name,
                                        .other = std::string(ticket.begin(), ticket.end())});
  }

  // Also when memory holds none: the file may (a ticket whose replacement failed to commit).
  void revoke_ticket(const std::string& name) {
    if (!resumes.enabled()) return;
    resumes.revoke(name);
    store.ask(store_request::revoke_ticket{name});
  }

  // The session is over without a logout (its window ended, or it was dropped): its ticket
  // still logs the user in again for ticket_lifetime.
  void end_ticket(const std::string& name, time_point now) {
    if (!resumes.live(name)) return;
    if (resumes.options().ticket_lifetime.count() == 0) return revoke_ticket(name);
    resumes.end(name, now);
    store.ask(store_request::end_ticket{name, now});
  }

  // The connection of an online session is gone. With a ticket, a window to resume in (SPEC
  // 11): the session stays online, its frames wait in the gate. A login whose mailbox is still
  // being read was not announced yet: it ends as before.
  bool suspend(session_id id, session& s, time_point now, effects& out) {
    if (!resumes.resumable(s.name) || resumes.options().resume_grace.count() == 0 ||
        mail.reading(id))
      return false;
    // Replies to the lost connection's commands are dropped: the peer names those commands as
    // not confirmed, and a late reply would be read as the answer to its next one.
    gate.forget(id);
    mail.forget(id, out);
    gate.wait(id, hold_ticket);
    s.at = phase::suspended;
    resumes.suspend(s.name, now + resumes.options().resume_grace);
    deadlines.push(deadline_of(s), id);
    out.notes.push_back(s.name + " (" + s.address + ") lost its connection; resumable for " +
                        std::to_string(resumes.options().resume_grace.count()) + " s");
    return true;
  }

  // A suspended session's window ended (or its idle timeout came, or a password login or a
  // bound replaced it): the logout is announced now. `replaced`: a login of the same user
  // takes over, and issues its own ticket.
  void end_window(session_id id, time_point now, effects& out, bool replaced) {
    session& s = sessions.at(id);
    const std::string name = s.name;
    const bool idle = s.since + config.idle_timeout <= now;
    leave(id, s, now, true, out, false);
    gate.forget(id);
    sessions.erase(id);
    out.notes.push_back(name +
                        (replaced ? ": a password login replaced the session waiting for its resume"
                         : idle   ? ": timed out while waiting for its resume"
                                  : ": not resumed in time; announced as logged out"));
    if (replaced) return;
    if (idle)
      revoke_ticket(name);
    else
      end_ticket(name, now);
  }

  void refuse_resume(session_id id, session& s, const std::string& name, time_point now,
                     effects& out) {
    // A wrong ticket spends one of the address's failed-login tokens when one is left, so a
    // flood of guesses shows and slows that address's password guesses too; a right ticket
    // needs none, so nobody can keep a user from resuming by spending them.
    (void)failure_budget.take(s.address, now);
    replies.resume(out, id, proto::resume_result::not_resumable);
    finish(id, s, end_cause::not_resumable, "no live session of " + name + " has that ticket", out);
  }

  void on_resume(session_id id, session& s, const proto::resume_session& m, time_point now,
                 effects& out) {
    const std::string& name = m.name.value;
    const resume_book::entry* e = resumes.enabled() ? resumes.match(name, m.ticket) : nullptr;
    if (e && resumes.expired(*e, now)) {
      revoke_ticket(name);
      e = nullptr;
    }
    if (!e) return refuse_resume(id, s, name, now, out);
    if (e->ended_at) {
      // The window had ended: a new session, announced like a login. (Nobody can be online
      // under the name: a login issues a new ticket.)
      if (sessions.is_online(name) || !accounts.contains(name))
        return refuse_resume(id, s, name, now, out);
      s.name = name;
      out.notes.push_back(name + " logged in again with its ticket from " + s.address);
      return enter(id, s, now, out, true);
    }
    const auto old_id = sessions.online_id(name);
    if (!old_id) return refuse_resume(id, s, name, now, out);
    session& old = sessions.at(*old_id);
    const bool suspended = old.at == phase::suspended;
    // A login whose mailbox was still being read was not announced yet: it is, once read.
    const bool announce = mail.reading(*old_id);
    if (!suspended) {
      // Still connected as far as the registry knows (a half-open link, a new address): that
      // connection ends, and this one goes on with the session.
      gate.forget(*old_id);
      mail.forget(*old_id, out);
      out.sends.push_back(
          effects::send{*old_id, replies.end_frame(proto::end_reason::resumed_elsewhere)});
      out.ends.push_back(
          effects::end{*old_id, end_cause::resumed_elsewhere, "resumed from " + s.address});
    }
    sessions.go_offline(old);
    s.name = std::move(old.name);
    s.since = old.since;
    private_broker::transfer(old, s);
    s.at = phase::online;
    // A suspended session has no connection: it goes now. A connected one stays, closing, until
    // the shell reports its connection gone (on_disconnect), as every session does.
    if (suspended)
      sessions.erase(*old_id);
    else
      old.at = phase::closing;
    sessions.go_online(id, s);
    resumes.resumed(s.name);
    out.notes.push_back(s.name + " resumed its session from " + s.address);
    out.logins.push_back(id);
    deadlines.push(deadline_of(s), id);
    // The answer first, then what was held for the session while it waited.
    if (suspended) {
      gate.rekey(*old_id, id);
      gate.complete(id, hold_ticket, {replies.resume_frame(proto::resume_result::resumed)}, out);
    } else {
      replies.resume(out, id, proto::resume_result::resumed);
    }
    // Messages stored for it meanwhile (SPEC 6's exactly-once: the peer skips ids it showed).
    if (!mail.open(id, s, out, announce) && announce) presence.entered(id, s.name, out);
  }

  // At a start: the sessions online when the registry stopped wait for their resume.
  void restore(time_point now, effects& out) {
    const auto& options = resumes.options();
    for (auto& record : stored_tickets) {
      // A session that had not ended, and is not restored: its login history closes now.
      const auto close_login = [&] {
        if (record.ended_at || !accounts.contains(record.name)) return;
        store.ask(store_request::record_logout{record.name, now});
        accounts.note_logout(record.name, now);
      };
      if (!resumes.enabled() || !accounts.contains(record.name)) {
        close_login();
        store.ask(store_request::revoke_ticket{record.name});
        continue;
      }
      resumes.restore(record);
      if (record.ended_at) {
        if (const auto* e = resumes.find(record.name); e && resumes.expired(*e, now))
          revoke_ticket(record.name);
        continue;
      }
      if (options.restart_grace.count() == 0) {
        close_login();
        end_ticket(record.name, now);
        continue;
      }
      const session_id id = next_restored++;
      session* s = sessions.add(id);
      if (!s) continue;
      s->name = record.name;
      s->since = now;
      s->at = phase::suspended;
      sessions.go_online(id, *s);
      gate.wait(id, hold_ticket);
      resumes.suspend(record.name, now + options.restart_grace);
      deadlines.push(deadline_of(*s), id);
    }
    stored_tickets.clear();
    (void)out;
  }

  // At the end of every call into the core: sessions whose waiting frames passed their bound
  // are dropped (like slow readers, without a last frame), and the store jobs go to the shell.
  void end_turn(time_point now, effects& out) {
    for (const session_id id : gate.take_overflowed()) {
      session* s = sessions.find(id);
      gate.forget(id);
      if (!s || s->at == phase::closing) continue;
      // Waiting for its resume with too much held for it: its window ends now.
      if (s->at == phase::suspended) {
        end_window(id, now, out, false);
        continue;
      }
      if (s->at == phase::online) {
        leave(id, *s, now, true, out, false);
        end_ticket(s->name, now);
      }
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
  // A lost connection is announced like a logout (SPEC 7) unless it may be resumed (SPEC 11):
  // then the session waits, and the announcement comes at its window's end if it is not
  // resumed. An ended session was announced already.
  if (s->at == phase::online) {
    if (state_->suspend(id, *s, now, out)) {
      state_->end_turn(now, out);
      return;
    }
    state_->leave(id, *s, now, true, out, false);
    state_->end_ticket(s->name, now);
  }
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
  const bool resumable_after = state_->resumes.options().restart_grace.count() > 0;
  for (const session_id id : ids) {
    session& s = state_->sessions.at(id);
    // Waiting for its resume: its ticket row says so, and it waits again after the start.
    if (s.at == phase::suspended) continue;
    // SPEC 11: a session with a ticket is resumed after the start, announcing nothing; its
    // logout is not recorded and its ticket row stays as it is.
    // (Not while its mailbox is read: its login was never announced.)
    if (s.at == phase::online && resumable_after && state_->resumes.resumable(s.name) &&
        !state_->mail.reading(id)) {
      state_->sessions.go_offline(s);
      state_->mail.forget(id, out);
      state_->replies.end(out, id, proto::end_reason::shutdown_resumable);
      state_->finish(id, s, end_cause::shutdown_resumable, "registry shutting down", out);
      continue;
    }
    state_->end_with(id, s, proto::end_reason::shutdown, end_cause::shutdown,
                     "registry shutting down", now, out);
  }
  state_->end_turn(now, out);
}

void core::on_start(time_point now, effects& out) {
  state_->restore(now, out);
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
