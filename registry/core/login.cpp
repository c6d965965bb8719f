#include "registry/core/login.hpp"

#include "shared/proto/text.hpp"

#include <utility>

namespace parley::registry {

login_step login_flow::on_hello(session_id id, session& s, const proto::client_hello& m,
                                effects& out) {
  replies_.hello(out, id);
  if (m.version != proto::protocol_version)
    return {login_step::next::protocol_error,
            "protocol version " + std::to_string(m.version) + " not supported"};
  s.at = phase::awaiting_name;
  return {};
}

login_step login_flow::on_name(session_id id, session& s, const proto::login_name& m,
                               time_point now, effects& out) {
  const std::string& name = m.name.value;
  // A session waiting for its resume does not count: a password login replaces it (SPEC 11).
  if (sessions_.is_connected(name) || reserved_.contains(name)) {
    replies_.login(out, id, proto::login_result::already_logged_in);
    return {};
  }
  if (accounts_.contains(name)) {
    s.name = name;
    s.at = phase::awaiting_password;
    replies_.login(out, id, proto::login_result::ask_password);
  } else {
    // SPEC 9.1: a new account is refused at its name, before the new-user prompt, so that no
    // password is asked for in vain and no hash is made. The names being created count towards
    // the cap, so racing sign-ups cannot pass it.
    if (guards_.max_accounts != 0 &&
        accounts_.all().size() + reserved_.size() >= guards_.max_accounts)
      return refuse(id, proto::login_result::new_accounts_refused, end_cause::signup_budget,
                    "the account cap (--max-accounts) is reached", out);
    if (!guards_.signups.available(s.address, now))
      return refuse(id, proto::login_result::new_accounts_refused, end_cause::signup_budget,
                    "its address has spent its new-account budget (--signups)", out);
    s.name = name;
    reserved_.emplace(name, id);
    s.at = phase::awaiting_new_password;
    replies_.login(out, id, proto::login_result::ask_new_password);
  }
  return {};
}

login_step login_flow::on_password(session_id id, session& s, const proto::login_password& m,
                                   time_point now, effects& out) {
  const std::string& password = m.password.value;
  if (s.at == phase::awaiting_new_password) {
    if (!proto::is_valid_new_password(password)) {
      replies_.login(out, id, proto::login_result::invalid_new_password);
      return {};
    }
    // The token is spent here, before the hash (another session from the address may have
    // spent the last one since the name was accepted).
    if (!guards_.signups.take(s.address, now))
      return refuse(id, proto::login_result::new_accounts_refused, end_cause::signup_budget,
                    "its address has spent its new-account budget (--signups)", out);
    return start_hash(id, s, hash_job::kind::create, password, {}, phase::creating, true, out);
  }

  account& a = *accounts_.find(s.name);
  // SPEC 9.1: a password is checked only while its address has a failed attempt left. The token
  // is taken now, before the hash, and given back when the password turns out right.
  if (!guards_.failures.take(s.address, now))
    return refuse(id, proto::login_result::too_many_login_attempts, end_cause::login_budget,
                  "its address has spent its failed-password budget (--login-failures)", out);
  // SPEC 3: the lock is checked once a password has been entered, whatever it is, and an
  // attempt during a lockout neither counts nor extends it. It is answered after a hash like any
  // other (against the account's own hash, so of the same cost, and queued by the same rules),
  // so that the time of the answer does not tell a locked account from an open one. No rehash
  // for a locked account: that extra time would tell that the password was right.
  const bool locked_now = locks_.is_locked(s.name, a, now);
  return start_hash(id, s, hash_job::kind::verify, password, a.password_hash, phase::verifying,
                    !locked_now, out);
}

login_step login_flow::on_hash_done(session_id id, session& s, const hash_done& result,
                                    time_point now, effects& out) {
  if (result.refused && (s.at == phase::verifying || s.at == phase::creating))
    return hash_refused(id, s, now, out);
  if (s.at == phase::verifying) return verified(id, s, result, now, out);
  if (s.at == phase::creating) return created(id, s, result, now);
  return {};
}

void login_flow::release(session_id id, const session& s) {
  if (s.name.empty()) return;
  const auto it = reserved_.find(s.name);
  if (it != reserved_.end() && it->second == id) reserved_.erase(it);
}

login_step login_flow::start_hash(session_id id, session& s, hash_job::kind what,
                                  const std::string& password, std::string stored_hash, phase next,
                                  bool rehash, effects& out) {
  s.at = next;
  s.ticket = next_ticket_++;
  out.hashes.push_back(
      hash_job{id, s.ticket, what, password, std::move(stored_hash), s.address, rehash});
  return {};
}

login_step login_flow::hash_refused(session_id id, session& s, time_point now, effects& out) {
  // Nothing was checked or made: the attempt costs the address nothing.
  if (s.at == phase::verifying)
    guards_.failures.give_back(s.address, now);
  else
    guards_.signups.give_back(s.address, now);
  return refuse(id, proto::login_result::registry_busy, end_cause::hash_busy,
                "the password-hashing queue is full (--hash-queue, --hash-queue-per-address)", out);
}

login_step login_flow::verified(session_id id, session& s, const hash_done& result, time_point now,
                                effects& out) {
  account& a = *accounts_.find(s.name);
  // Locked before this attempt, or by attempts on other connections while this hash ran. The
  // failed-attempt token stays spent, whatever the password was.
  if (locks_.is_locked(s.name, a, now))
    return locked(id, proto::login_result::account_locked, "login attempt on a locked account",
                  out);

  if (!result.ok) {
    if (locks_.record_failure(id, s.name, a, now))
      return locked(id, proto::login_result::invalid_now_locked,
                    "too many wrong passwords: account locked", out);
    s.at = phase::awaiting_password;
    replies_.login(out, id, proto::login_result::invalid_password);
    return {};
  }
  // A right password is no failed attempt.
  guards_.failures.give_back(s.address, now);

  // Another connection may have logged this user in while the hash ran.
  if (sessions_.is_connected(s.name)) {
    s.name.clear();
    s.at = phase::awaiting_name;
    replies_.login(out, id, proto::login_result::already_logged_in);
    return {};
  }
  locks_.record_success(s.name, a);
  // The hash was made at another cost than the registry's (--hash-cost changed since): the
  // pool made a new one from the password it had just checked. Best effort: the old hash
  // still verifies.
  if (!result.hash.empty()) {
    store_.ask(store_request::set_password_hash{s.name, result.hash});
    a.password_hash = result.hash;
  }
  return {login_step::next::enter, {}};
}

login_step login_flow::created(session_id id, session& s, const hash_done& result, time_point now) {
  if (!result.ok) return {login_step::next::protocol_error, "could not hash the new password"};
  // The welcome acknowledges the account: it waits for the commit (the name stays reserved).
  store_.ask(store_request::add_account{s.name, result.hash, now},
             store_waiter{.what = store_waiter::kind::account_created,
                          .session = id,
                          .subject = s.name,
                          .other = result.hash});
  return {};
}

login_step login_flow::on_account_stored(session_id id, session& s, bool ok) {
  if (!ok) return {login_step::next::protocol_error, "could not store the new account"};
  release(id, s);
  return {login_step::next::enter, {}};
}

login_step login_flow::locked(session_id id, proto::login_result result, std::string detail,
                              effects& out) const {
  replies_.login(out, id, result);
  return {login_step::next::end_locked, std::move(detail)};
}

login_step login_flow::refuse(session_id id, proto::login_result result, end_cause cause,
                              std::string detail, effects& out) const {
  replies_.login(out, id, result);
  return {login_step::next::refused, std::move(detail), cause};
}

}  // namespace parley::registry
