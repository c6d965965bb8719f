// Private to the registry core: SPEC 3's login, from the hello to the welcome. Owns the names
// reserved by sessions creating an account and the tickets of hash jobs; hashing itself runs in
// the shell (hash_job out, hash_done back). Each step says what the session's life does next.
#pragma once

#include "registry/core/durable.hpp"

#include "registry/core/accounts.hpp"
#include "registry/core/address_budget.hpp"
#include "registry/core/lockout.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/session.hpp"
#include "registry/core/storage.hpp"

#include <cstdint>
#include <string>

namespace parley::registry {

// What the core does with a session after a login step.
struct login_step {
  enum class next {
    wait,            // nothing more: the session waits for its next message or hash
    enter,           // logged in: the session goes online
    end_locked,      // the login reply is sent; the session ends (end_cause::locked_out)
    protocol_error,  // the session ends with session_end{protocol_error}
    refused,         // a SPEC 9.1 guard: the login reply is sent; the session ends (`cause`)
  };
  next what = next::wait;
  std::string detail;                       // for the log, when the session ends
  end_cause cause = end_cause::locked_out;  // refused: which guard
};

// SPEC 9.1's guards of the login, beside SPEC 3's lockout.
struct login_guards {
  address_budget& failures;  // wrong passwords per address
  address_budget& signups;   // new accounts per address
  std::size_t max_accounts;  // 0: no cap
};

class login_flow {
 public:
  login_flow(account_book& accounts, lockout& locks, login_guards guards,
             const session_table& sessions, durable& store, const replies& replies)
      : accounts_(accounts),
        locks_(locks),
        guards_(guards),
        sessions_(sessions),
        store_(store),
        replies_(replies) {}

  login_step on_hello(session_id id, session& s, const proto::client_hello& m, effects& out);
  login_step on_name(session_id id, session& s, const proto::login_name& m, time_point now,
                     effects& out);
  login_step on_password(session_id id, session& s, const proto::login_password& m, time_point now,
                         effects& out);
  // The answer to this session's hash job (the core has matched its ticket).
  login_step on_hash_done(session_id id, session& s, const hash_done& result, time_point now,
                          effects& out);

  // The new account of a session in phase::creating is committed (or could not be).
  // (The core has put a committed account in the account book already.)
  login_step on_account_stored(session_id id, session& s, bool ok);

  // The session ends, or has entered: a name it reserved is free again.
  void release(session_id id, const session& s);

 private:
  login_step start_hash(session_id id, session& s, hash_job::kind what, const std::string& password,
                        std::string stored_hash, phase next, bool rehash, effects& out);
  login_step verified(session_id id, session& s, const hash_done& result, time_point now,
                      effects& out);
  login_step created(session_id id, session& s, const hash_done& result, time_point now);
  login_step locked(session_id id, proto::login_result result, std::string detail,
                    effects& out) const;
  login_step refuse(session_id id, proto::login_result result, end_cause cause, std::string detail,
                    effects& out) const;
  // The pool did not run the job: what it reserved is given back.
  login_step hash_refused(session_id id, session& s, time_point now, effects& out);

  account_book& accounts_;
  lockout& locks_;
  login_guards guards_;
  const session_table& sessions_;
  durable& store_;
  const replies& replies_;
  by_name<session_id> reserved_;  // unknown names some session is creating right now
  std::uint64_t next_ticket_ = 1;
};

}  // namespace parley::registry
