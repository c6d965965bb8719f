// The registry's state machine: decoded messages and the current time in, effects out. It never
// touches a socket, a clock or SQL; durable writes go through the storage interface and are
// committed before the core acknowledges them. The ASIO shell (registry/net/) applies the effects.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/storage.hpp"
#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parley::registry {

using session_id = std::uint64_t;

struct core_config {
  std::chrono::seconds block_duration{60};
  std::chrono::seconds idle_timeout{600};
  std::chrono::seconds login_deadline{30};
  int max_failed_attempts = 3;
  std::size_t max_offline_per_recipient = 1000;
  // SPEC 8: startprivate requests that may wait for one user's answer; more are refused.
  std::size_t max_private_offers = 16;
  // The secret of an accepted private chat: proto::private_token_chars lowercase hex digits,
  // unpredictable. Required; injected so that the core stays free of any source of randomness
  // (the registry passes auth::random_token). It never reaches a log.
  std::function<std::string()> new_token;
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
};

struct hash_done {
  session_id session = 0;
  std::uint64_t ticket = 0;
  bool ok = false;  // verify: the password matched; create: hashing succeeded
  // create: the new hash. verify: a new hash at the registry's cost when the stored one was
  // made at another (the password matched), else empty.
  std::string hash;
};

// Why the core ends a session (for the log; the peer learns it from session_end).
enum class end_cause {
  logged_out,
  inactivity,
  locked_out,
  login_timeout,
  protocol_error,
  shutdown
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

  void clear() {
    sends.clear();
    ends.clear();
    hashes.clear();
  }
  bool empty() const { return sends.empty() && ends.empty() && hashes.empty(); }
};

class core {
 public:
  // Throws std::invalid_argument when config.new_token is missing.
  core(core_config config, storage& store);
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

  // The registry is stopping: every session gets session_end{shutdown} and ends; logouts
  // are recorded.
  void on_shutdown(time_point now, effects& out);

  // Whether the session has completed its login (and not ended since).
  bool logged_in(session_id id) const;

  // For logs and tests.
  std::size_t sessions() const;
  std::size_t online_users() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace parley::registry
