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
                               effects& out) {
  const std::string& name = m.name.value;
  if (sessions_.is_online(name) || reserved_.contains(name)) {
    replies_.login(out, id, proto::login_result::already_logged_in);
    return {};
  }
  s.name = name;
  if (accounts_.contains(name)) {
    s.at = phase::awaiting_password;
    replies_.login(out, id, proto::login_result::ask_password);
  } else {
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
    return start_hash(id, s, hash_job::kind::create, password, {}, phase::creating, out);
  }

  account& a = *accounts_.find(s.name);
  // SPEC 3: the lock is checked once a password has been entered, whatever it is, and an
  // attempt during a lockout neither counts nor extends it.
  if (locks_.is_locked(s.name, a, now))
    return locked(id, proto::login_result::account_locked, "login attempt on a locked account",
                  out);
  return start_hash(id, s, hash_job::kind::verify, password, a.password_hash, phase::verifying,
                    out);
}

login_step login_flow::on_hash_done(session_id id, session& s, const hash_done& result,
                                    time_point now, effects& out) {
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
                                  effects& out) {
  s.at = next;
  s.ticket = next_ticket_++;
  out.hashes.push_back(hash_job{id, s.ticket, what, password, std::move(stored_hash)});
  return {};
}

login_step login_flow::verified(session_id id, session& s, const hash_done& result, time_point now,
                                effects& out) {
  account& a = *accounts_.find(s.name);
  // Attempts on other connections may have locked the account while this hash ran.
  if (locks_.is_locked(s.name, a, now))
    return locked(id, proto::login_result::account_locked,
                  "account locked while its password was checked", out);

  if (!result.ok) {
    if (locks_.record_failure(id, s.name, a, now))
      return locked(id, proto::login_result::invalid_now_locked,
                    "too many wrong passwords: account locked", out);
    s.at = phase::awaiting_password;
    replies_.login(out, id, proto::login_result::invalid_password);
    return {};
  }

  // Another connection may have logged this user in while the hash ran.
  if (sessions_.is_online(s.name)) {
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

}  // namespace parley::registry
