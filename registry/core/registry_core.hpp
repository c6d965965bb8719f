// The registry's state machine: decoded messages and the current time in, effects out. It never
// touches a socket, a clock or SQL. Durable writes are effects too (store jobs, store_jobs.hpp):
// the shell runs them on the store worker and hands the answers back (on_store_done); what a
// write acknowledges is sent only after its commit. The ASIO shell (registry/net/) applies the
// effects.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/resume.hpp"
#include "registry/core/storage.hpp"
#include "registry/core/store_jobs.hpp"
#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::registry {

using session_id = std::uint64_t;

// A token bucket per address (SPEC 9.1): `count` tokens refill every `per`, up to `burst`.
// count 0: no budget (everything allowed).
struct budget_rate {
  std::size_t count = 0;
  std::chrono::seconds per{60};
  std::size_t burst = 1;
};

struct core_config {
  std::chrono::seconds block_duration{60};
  std::chrono::seconds idle_timeout{600};
  std::chrono::seconds login_deadline{30};
  int max_failed_attempts = 3;
  std::size_t max_offline_per_recipient = 1000;
  // SPEC 8: startprivate requests that may wait for one user's answer; more are refused.
  std::size_t max_private_offers = 16;
  // SPEC 6/9.1: store jobs one session may have unanswered before the shell stops reading from
  // it (accepts_input), and the bytes of message bodies not yet committed, in all, past which
  // every session with a job unanswered is paused.
  std::size_t max_pending_writes_per_session = 1024;
  std::size_t max_pending_write_bytes = 64 * 1024 * 1024;
  // Frames to one session waiting behind its unanswered jobs (or its mailbox being read); past
  // this the session is dropped like a slow reader.
  std::size_t max_held_bytes = 1024 * 1024;
  // Stored messages are handed over at login a page at a time; the next page is read once the
  // peer has confirmed the last one, so a full mailbox never sits in one outgoing queue.
  std::size_t mailbox_page_rows = 256;
  std::size_t mailbox_page_bytes = 256 * 1024;
  // SPEC 9.1: wrong passwords per address (30 a minute, burst 60), new accounts per address (60
  // an hour, burst 60), and accounts in all (0: no cap). A budget with count 0 is off.
  budget_rate login_failures{30, std::chrono::minutes(1), 60};
  budget_rate signups{60, std::chrono::hours(1), 60};
  std::size_t max_accounts = 100'000;
  // Addresses each budget keeps a bucket for at most (see address_budget).
  std::size_t max_budget_addresses = 16384;
  // The secret of an accepted private chat: proto::private_token_chars lowercase hex digits,
  // unpredictable. Required; injected so that the core stays free of any source of randomness
  // (the registry passes auth::random_token). It never reaches a log.
  std::function<std::string()> new_token;
  // SPEC 11: resume tickets and windows.
  resume_options resume;
};

// Work for the password-hashing pool: Argon2id runs off the io thread. The shell hands the
// answer back through core::on_hash_done with the same session and ticket.
struct hash_job {
  enum class kind { verify, create };
  session_id session = 0;
  std::uint64_t ticket = 0;
  kind what = kind::verify;
  std::string password;
  std::string stored_hash;  // verify: the hash to check against
  // The session's address: the pool takes turns between addresses, one job of each at a time.
  std::string address;
  // verify: whether a match may be answered with a fresh hash at the registry's cost. Not for a
  // locked account: the extra time would tell that the password was right.
  bool rehash = true;
};

struct hash_done {
  session_id session = 0;
  std::uint64_t ticket = 0;
  bool ok = false;  // verify: the password matched; create: hashing succeeded
  // create: the new hash. verify: a new hash at the registry's cost when the stored one was
  // made at another (the password matched), else empty.
  std::string hash;
  // The pool did not run the job: its queue, or the address's line in it, was full.
  bool refused = false;
};

// Why the core ends a session (for the log; the peer learns it from session_end).
enum class end_cause {
  logged_out,
  inactivity,
  locked_out,
  login_timeout,
  protocol_error,
  shutdown,
  // SPEC 9.1's guards, refused before any hashing:
  login_budget,   // the address's failed-password budget is spent (--login-failures)
  signup_budget,  // the address's new-account budget is spent, or the account cap reached
  hash_busy,      // the hash pool's queue is full (--hash-queue, --hash-queue-per-address)
  // Frames waiting for the store to answer passed core_config::max_held_bytes.
  overloaded,
  // SPEC 11:
  not_resumable,      // a resume_session without a live session for its ticket
  resumed_elsewhere,  // another connection resumed this session
  shutdown_resumable  // the registry is stopping; the session may be resumed after its start
};
const char* describe(end_cause cause);

// What the shell must do after a call into the core, in order.
struct effects {
  struct send {
    session_id to;
    proto::frame_ptr frame;
  };
  struct end {
    session_id session;
    end_cause cause;
    std::string detail;  // for the log
  };
  std::vector<send> sends;  // queue these frames, in order
  std::vector<end> ends;    // then flush and close these sessions (after their sends)
  std::vector<hash_job> hashes;
  std::vector<store_job> writes;  // for the store worker, in this order
  // These sessions have logged in (after a password's hash, or after a new account's commit):
  // the shell lifts what bounds a connection before login.
  std::vector<session_id> logins;
  // Lines for the log (info): SPEC 11's suspended, resumed and ended sessions. Never a ticket.
  std::vector<std::string> notes;

  void clear() {
    sends.clear();
    ends.clear();
    hashes.clear();
    writes.clear();
    logins.clear();
    notes.clear();
  }
  bool empty() const {
    return sends.empty() && ends.empty() && hashes.empty() && writes.empty() && logins.empty() &&
           notes.empty();
  }
};

class core {
 public:
  // Starts from what the store held at start-up. Throws std::invalid_argument when
  // config.new_token is missing.
  core(core_config config, storage_snapshot snapshot);
  ~core();
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  // A connection was accepted; `address` is the address the registry saw it come from.
  void on_connect(session_id id, const std::string& address, time_point now, effects& out);

  // One decoded, validated message from a session. A message the session's state does not
  // allow (a command before login, a second hello, ...) ends the session as a protocol error.
  void on_message(session_id id, const proto::client_message& message, time_point now,
                  effects& out);

  // A hash_job finished. Results for sessions that have gone are ignored.
  void on_hash_done(const hash_done& result, time_point now, effects& out);

  // Answers of the store worker, in the order the jobs were asked for.
  void on_store_done(std::vector<store_done>& results, time_point now, effects& out);

  // Whether the shell should go on reading the session's frames: false while it has too many
  // store jobs unanswered (or all sessions together have too many bytes unwritten). The shell
  // asks again after on_store_done.
  bool accepts_input(session_id id) const;

  // The connection is gone (for whatever reason, including ends the core asked for).
  // Called exactly once per connected session.
  void on_disconnect(session_id id, time_point now, effects& out);

  // Expires what is due at `now`: logins not completed in time, inactive sessions.
  void on_tick(time_point now, effects& out);

  // The earliest moment on_tick has something to do, if any.
  std::optional<time_point> next_deadline() const;

  // The end of one turn of the shell's event loop, once it has handled what was ready (a batch
  // of reads, a batch of hash answers): SPEC 7's notices of the turn go out, at most one frame
  // per recipient. Called whenever turn_end_pending() is true after a call; until then the
  // notices wait (docs/PROTOCOL.md, presence_batch).
  void on_turn_end(time_point now, effects& out);
  bool turn_end_pending() const;

  // The registry listens (called once, before the first connection): the sessions that were
  // online when it last stopped (their resume tickets had not ended) are restored, waiting for
  // their resume for restart_grace (SPEC 11); tickets past their lifetime are revoked.
  void on_start(time_point now, effects& out);

  // The registry is stopping: every session gets session_end{shutdown} and ends; logouts
  // are recorded. A session with a ticket gets session_end{shutdown_resumable} instead, and its
  // logout is not recorded: it may be resumed after the next start.
  void on_shutdown(time_point now, effects& out);

  // Whether the session has completed its login (and not ended since).
  bool logged_in(session_id id) const;
  // The user a logged-in session belongs to, for the log; empty for any other session. Valid
  // until the next call into the core.
  std::string_view user_of(session_id id) const;

  // For logs and tests.
  std::size_t sessions() const;
  std::size_t online_users() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace parley::registry
