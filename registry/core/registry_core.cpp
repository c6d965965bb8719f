#include "registry/core/registry_core.hpp"

#include "registry/core/deadline_queue.hpp"
#include "shared/proto/codec.hpp"
#include "shared/proto/text.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

namespace parley::registry {

const char* describe(end_cause cause) {
  switch (cause) {
    case end_cause::logged_out: return "logged out";
    case end_cause::inactivity: return "inactivity timeout";
    case end_cause::locked_out: return "account locked";
    case end_cause::login_timeout: return "login not completed in time";
    case end_cause::protocol_error: return "protocol error";
    case end_cause::shutdown: return "registry shutting down";
  }
  return "unknown cause";
}

namespace {

// Where a connection is in its life. Each state accepts exactly the messages listed in
// `accepts`; anything else is a protocol error. One byte: it is packed into every session.
enum class phase : std::uint8_t {
  awaiting_hello,
  awaiting_name,
  awaiting_password,      // known account
  awaiting_new_password,  // unknown account: the name is reserved for this session
  verifying,              // a verify hash_job is in flight
  creating,               // a create hash_job is in flight; the name is still reserved
  online,
  closing,  // the core asked for the end; waiting for on_disconnect
};

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

// Indexed by the wire tag of proto::client_message, for protocol-error details.
constexpr std::array<const char*, std::variant_size_v<proto::client_message>> message_names{
    "client_hello", "login_name",     "login_password",  "direct_message", "broadcast",
    "who_else",     "who_else_since", "block_user",      "unblock_user",   "logout",
    "activity",     "private_listen", "private_request", "private_answer"};

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

// std::less<> makes lookups by string_view allocation-free.
using name_set = std::set<std::string, std::less<>>;
template <class Value>
using by_name = std::map<std::string, Value, std::less<>>;
// Keyed by a view of the session's own name, which does not change while it is online: the
// name is only assigned or cleared in the login phases, and the entry is erased (core::state::
// leave) before the session itself is (core::on_disconnect). unordered_map nodes stay put, so
// the view stays valid while the entry lives. This saves a copy of every online user's name.
using by_session_name = std::map<std::string_view, session_id, std::less<>>;

// The private chats (SPEC 8) one online user is part of right now. Every name in `offers` and
// `asked` is an online user: whoever leaves settles both sides first (core::state::settle_private).
struct private_chats {
  std::vector<std::string> offers;  // requesters waiting for this user's y/n, oldest first
  name_set asked;                   // users whose y/n this user's requests wait for

  bool empty() const { return offers.empty() && asked.empty(); }
};

// One connection. The registry keeps one per client, most of them logged in and idle, so the
// members are ordered by size to leave no padding, and what most sessions never use lives
// behind a pointer.
struct session {
  std::string address;
  std::string name;  // the name being logged in, from awaiting_*password on
  // The moment the deadlines count from: the connection's, before login (the login deadline),
  // then the last activity once online (the idle timeout). A session never returns from online
  // to a login phase, so the two are never needed at once; core::state::deadline_of reads it.
  time_point since{};
  std::uint64_t ticket = 0;  // of the hash_job in flight
  // Null while no request waits for this user's answer or for anyone else's answer to this
  // user, which is almost always: created by the first request, released as soon as it is
  // empty again (core::state::chats_of and release_if_settled), so a null pointer and an empty
  // private_chats mean the same.
  std::unique_ptr<private_chats> chats;
  std::uint16_t private_port = 0;  // as announced by private_listen; 0: none yet
  phase at = phase::awaiting_hello;
};

// The requesters waiting for this user's answer; none when it has no private_chats.
std::span<const std::string> offers_of(const session& s) {
  if (!s.chats) return {};
  return s.chats->offers;
}

struct account {
  std::string password_hash;
  int failed_attempts = 0;
  time_point locked_until{};  // epoch: not locked
  std::optional<time_point> last_logout;
};

template <class Enum>
constexpr std::size_t enum_count() {
  return static_cast<std::size_t>(Enum::last) + 1;
}

// True when `t` lies at or after `now - seconds`. Written on the age of `t` so that a huge
// `seconds` (the peer may send up to 2^64-1) can neither overflow nor wrap around.
bool within_last(time_point t, time_point now, std::uint64_t seconds) {
  if (t >= now) return true;
  // Beyond this many seconds the window reaches past anything the clock can represent.
  constexpr auto unbounded_seconds = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock::duration::max()).count());
  if (seconds >= unbounded_seconds) return true;
  const std::chrono::seconds window(static_cast<std::chrono::seconds::rep>(seconds));
  return now - t <= window;
}

}  // namespace

struct core::state {
  state(core_config c, storage& s) : config(std::move(c)), store(s) {
    if (!config.new_token) throw std::invalid_argument("core_config::new_token is required");
    for (std::size_t i = 0; i < login_frames.size(); ++i)
      login_frames[i] = proto::make_frame(proto::login_reply{static_cast<proto::login_result>(i)});
    for (std::size_t i = 0; i < outcome_frames.size(); ++i)
      outcome_frames[i] =
          proto::make_frame(proto::command_reply{static_cast<proto::outcome>(i), {}});
    for (std::size_t i = 0; i < end_frames.size(); ++i)
      end_frames[i] = proto::make_frame(proto::session_end{static_cast<proto::end_reason>(i)});
    hello_frame = proto::make_frame(proto::server_hello{});

    auto snapshot = store.load();
    for (auto& a : snapshot.accounts)
      accounts.insert_or_assign(
          std::move(a.name),
          account{std::move(a.password_hash), a.failed_attempts, a.locked_until, a.last_logout});
    for (auto& b : snapshot.blocks) blocks[std::move(b.blocker)].insert(std::move(b.blocked));
  }

  core_config config;
  storage& store;

  by_name<account> accounts;
  by_name<name_set> blocks;      // blocker -> the users it blocks
  by_name<session_id> reserved;  // unknown names some session is creating right now
  // Declared before `online`, whose keys view the sessions' names, so that it outlives them.
  std::unordered_map<session_id, session> sessions;
  by_session_name online;  // sorted, so whoelse answers in name order
  deadline_queue deadlines;
  std::uint64_t next_ticket = 1;

  // Replies that carry nothing but a code are encoded once and shared by every session.
  std::array<proto::frame_ptr, enum_count<proto::login_result>()> login_frames;
  std::array<proto::frame_ptr, enum_count<proto::outcome>()> outcome_frames;
  std::array<proto::frame_ptr, enum_count<proto::end_reason>()> end_frames;
  proto::frame_ptr hello_frame;

  // ------------------------------------------------------------------ small helpers

  static void send(effects& out, session_id to, proto::frame_ptr frame) {
    out.sends.push_back(effects::send{to, std::move(frame)});
  }
  void send_login(effects& out, session_id to, proto::login_result result) {
    send(out, to, login_frames[static_cast<std::size_t>(result)]);
  }
  void reply(effects& out, session_id to, proto::outcome result) {
    send(out, to, outcome_frames[static_cast<std::size_t>(result)]);
  }
  void reply(effects& out, session_id to, proto::outcome result, std::string_view subject) {
    send(out, to, proto::make_frame(proto::command_reply{result, subject}));
  }

  bool is_account(std::string_view name) const { return accounts.contains(name); }

  bool has_blocked(std::string_view blocker, std::string_view blocked) const {
    const auto it = blocks.find(blocker);
    return it != blocks.end() && it->second.contains(blocked);
  }

  time_point deadline_of(const session& s) const {
    return s.since + (s.at == phase::online ? config.idle_timeout : config.login_deadline);
  }

  void release_reservation(session_id id, const session& s) {
    if (s.name.empty()) return;
    const auto it = reserved.find(s.name);
    if (it != reserved.end() && it->second == id) reserved.erase(it);
  }

  // A lockout whose time has passed is over: the failure count starts again from zero.
  void expire_lockout(const std::string& name, account& a, time_point now) {
    if (a.locked_until == time_point{} || a.locked_until > now) return;
    // Memory follows even if the write fails: the store already has the older, stricter state.
    store.set_lockout(name, 0, time_point{});
    a.failed_attempts = 0;
    a.locked_until = time_point{};
  }

  // ------------------------------------------------------------------ presence

  // `<user> logged in/out` goes to every online user except the user and those it blocks.
  void announce(const std::string& user, bool now_online, effects& out) {
    const auto blocked_by_user = blocks.find(user);
    proto::frame_ptr frame;
    for (const auto& [other, other_id] : online) {
      if (other == user) continue;
      if (blocked_by_user != blocks.end() && blocked_by_user->second.contains(other)) continue;
      // Encoded only once somebody is there to see it, then shared.
      if (!frame)
        frame = proto::make_frame(proto::presence{user, static_cast<std::uint8_t>(now_online)});
      send(out, other_id, frame);
    }
  }

  void enter(session_id id, session& s, time_point now, effects& out) {
    const time_point login_due = deadline_of(s);
    s.at = phase::online;
    s.since = now;
    online.emplace(s.name, id);
    // The login deadline already queued for this session pushes it back at its idle deadline
    // when it comes due, so a second entry is needed only when the idle deadline comes first.
    // Otherwise it would double the queue for as long as the user stays online.
    if (const time_point idle_due = deadline_of(s); idle_due < login_due)
      deadlines.push(idle_due, id);

    send_login(out, id, proto::login_result::welcome);
    for (auto& stored : store.take_offline(s.name)) {
      proto::server_message message =
          proto::delivery{stored.sender, std::move(stored.text), proto::delivery_kind::offline};
      // Stored rows came from validated messages; a row that is not (a hand-edited database)
      // cannot be encoded, and is dropped rather than end the login.
      if (!proto::validate(message).empty()) continue;
      send(out, id, proto::make_frame(message));
    }
    announce(s.name, true, out);
    store.record_login(s.name, now);
  }

  // The user is no longer online. `tell_others` is false only at shutdown, when everyone goes.
  void leave(session& s, time_point now, bool tell_others, effects& out) {
    settle_private(s, out);
    online.erase(s.name);
    if (tell_others) announce(s.name, false, out);
    // Login history is best effort: whoelsesince reads the in-memory time below.
    store.record_logout(s.name, now);
    if (const auto it = accounts.find(s.name); it != accounts.end()) it->second.last_logout = now;
  }

  // ------------------------------------------------------------------ ending sessions

  // The core is done with this session: the shell flushes what was sent and closes it.
  void finish(session_id id, session& s, end_cause cause, std::string detail, effects& out) {
    release_reservation(id, s);
    s.at = phase::closing;
    out.ends.push_back(effects::end{id, cause, std::move(detail)});
  }

  void end_with(session_id id, session& s, proto::end_reason reason, end_cause cause,
                std::string detail, time_point now, effects& out) {
    if (s.at == phase::online) leave(s, now, reason != proto::end_reason::shutdown, out);
    send(out, id, end_frames[static_cast<std::size_t>(reason)]);
    finish(id, s, cause, std::move(detail), out);
  }

  void protocol_error(session_id id, session& s, std::string detail, time_point now, effects& out) {
    end_with(id, s, proto::end_reason::protocol_error, end_cause::protocol_error, std::move(detail),
             now, out);
  }

  void lock_out(session_id id, session& s, proto::login_result result, std::string detail,
                effects& out) {
    send_login(out, id, result);
    finish(id, s, end_cause::locked_out, std::move(detail), out);
  }

  // ------------------------------------------------------------------ login

  void handle(session_id id, session& s, const proto::client_hello& m, time_point now,
              effects& out) {
    send(out, id, hello_frame);
    if (m.version != proto::protocol_version) {
      protocol_error(id, s, "protocol version " + std::to_string(m.version) + " not supported", now,
                     out);
      return;
    }
    s.at = phase::awaiting_name;
  }

  void handle(session_id id, session& s, const proto::login_name& m, time_point, effects& out) {
    const std::string& name = m.name.value;
    if (online.contains(name) || reserved.contains(name)) {
      send_login(out, id, proto::login_result::already_logged_in);
      return;
    }
    s.name = name;
    if (is_account(name)) {
      s.at = phase::awaiting_password;
      send_login(out, id, proto::login_result::ask_password);
    } else {
      reserved.emplace(name, id);
      s.at = phase::awaiting_new_password;
      send_login(out, id, proto::login_result::ask_new_password);
    }
  }

  void handle(session_id id, session& s, const proto::login_password& m, time_point now,
              effects& out) {
    const std::string& password = m.password.value;
    if (s.at == phase::awaiting_new_password) {
      if (!proto::is_valid_new_password(password)) {
        send_login(out, id, proto::login_result::invalid_new_password);
        return;
      }
      start_hash(id, s, hash_job::kind::create, password, {}, phase::creating, out);
      return;
    }

    account& a = accounts.find(s.name)->second;
    // SPEC 3: the lock is checked once a password has been entered, whatever it is, and an
    // attempt during a lockout neither counts nor extends it.
    if (a.locked_until > now) {
      lock_out(id, s, proto::login_result::account_locked, "login attempt on a locked account",
               out);
      return;
    }
    expire_lockout(s.name, a, now);
    start_hash(id, s, hash_job::kind::verify, password, a.password_hash, phase::verifying, out);
  }

  void start_hash(session_id id, session& s, hash_job::kind what, const std::string& password,
                  std::string stored_hash, phase next, effects& out) {
    s.at = next;
    s.ticket = next_ticket++;
    out.hashes.push_back(hash_job{id, s.ticket, what, password, std::move(stored_hash)});
  }

  void verified(session_id id, session& s, const hash_done& result, time_point now, effects& out) {
    account& a = accounts.find(s.name)->second;
    // Attempts on other connections may have locked the account while this hash ran.
    if (a.locked_until > now) {
      lock_out(id, s, proto::login_result::account_locked,
               "account locked while its password was checked", out);
      return;
    }
    expire_lockout(s.name, a, now);

    if (result.ok) {
      // Another connection may have logged this user in while the hash ran.
      if (online.contains(s.name)) {
        s.name.clear();
        s.at = phase::awaiting_name;
        send_login(out, id, proto::login_result::already_logged_in);
        return;
      }
      if (a.failed_attempts != 0) {
        store.set_lockout(s.name, 0, time_point{});
        a.failed_attempts = 0;
      }
      enter(id, s, now, out);
      return;
    }

    const int failures = a.failed_attempts + 1;
    const bool locks = failures >= config.max_failed_attempts;
    const time_point until = locks ? now + config.block_duration : time_point{};
    // Memory counts the failure even if the write fails: a broken disk must not open the door
    // to unlimited guesses.
    store.set_lockout(s.name, failures, until);
    a.failed_attempts = failures;
    a.locked_until = until;
    if (locks) {
      lock_out(id, s, proto::login_result::invalid_now_locked,
               "too many wrong passwords: account locked", out);
      return;
    }
    s.at = phase::awaiting_password;
    send_login(out, id, proto::login_result::invalid_password);
  }

  void created(session_id id, session& s, const hash_done& result, time_point now, effects& out) {
    if (!result.ok) {
      protocol_error(id, s, "could not hash the new password", now, out);
      return;
    }
    if (!store.add_account(s.name, result.hash, now)) {
      protocol_error(id, s, "could not store the new account", now, out);
      return;
    }
    accounts.insert_or_assign(s.name, account{result.hash, 0, time_point{}, std::nullopt});
    release_reservation(id, s);
    enter(id, s, now, out);
  }

  // ------------------------------------------------------------------ commands

  void handle(session_id id, session& s, const proto::direct_message& m, time_point now,
              effects& out) {
    const std::string& to = m.to.value;
    // Looked up once: whoever is online has an account, so the account is looked for only when
    // the recipient is not online (this is the registry's busiest path).
    const auto recipient = online.find(to);
    if (recipient == online.end() && !is_account(to))
      return reply(out, id, proto::outcome::invalid_user, to);
    if (to == s.name) return reply(out, id, proto::outcome::cannot_message_self);
    if (has_blocked(to, s.name)) return reply(out, id, proto::outcome::blocked_by_recipient);

    if (recipient != online.end()) {
      send(out, recipient->second,
           proto::make_delivery_frame(s.name, m.text.value, proto::delivery_kind::direct));
      return reply(out, id, proto::outcome::message_delivered);
    }
    if (store.count_offline(to) >= config.max_offline_per_recipient)
      return reply(out, id, proto::outcome::mailbox_full, to);
    // The acknowledgement is the durability promise: only once the row is committed.
    if (!store.store_offline(to, s.name, m.text.value, now))
      return reply(out, id, proto::outcome::store_failed);
    reply(out, id, proto::outcome::message_stored);
  }

  void handle(session_id id, session& s, const proto::broadcast_message& m, time_point,
              effects& out) {
    proto::frame_ptr frame;
    bool skipped_for_block = false;
    for (const auto& [other, other_id] : online) {
      if (other_id == id) continue;
      if (has_blocked(other, s.name)) {
        skipped_for_block = true;
        continue;
      }
      // One encoding, shared by every recipient.
      if (!frame)
        frame = proto::make_delivery_frame(s.name, m.text.value, proto::delivery_kind::broadcast);
      send(out, other_id, frame);
    }
    reply(out, id,
          skipped_for_block ? proto::outcome::broadcast_partial : proto::outcome::broadcast_sent);
  }

  void handle(session_id id, session& s, const proto::who_else&, time_point, effects& out) {
    std::vector<std::string_view> names;
    for (const auto& [other, other_id] : online)
      if (other_id != id && !has_blocked(other, s.name)) names.push_back(other);
    if (names.empty()) return reply(out, id, proto::outcome::no_other_users_online);
    send_names(id, proto::user_query::whoelse, names, out);
  }

  void handle(session_id id, session& s, const proto::who_else_since& m, time_point now,
              effects& out) {
    std::vector<std::string_view> names;
    // accounts is sorted by name, so the answer is too.
    for (const auto& [name, a] : accounts) {
      if (name == s.name || has_blocked(name, s.name)) continue;
      const bool seen =
          online.contains(name) || (a.last_logout && within_last(*a.last_logout, now, m.seconds));
      if (seen) names.push_back(name);
    }
    if (names.empty()) return reply(out, id, proto::outcome::no_other_users);
    send_names(id, proto::user_query::whoelsesince, names, out);
  }

  // Lists longer than one frame may carry go out in chunks; the last one says so.
  void send_names(session_id id, proto::user_query query,
                  const std::vector<std::string_view>& names, effects& out) {
    for (std::size_t first = 0; first < names.size(); first += proto::max_names_per_list) {
      const std::size_t last = std::min(names.size(), first + proto::max_names_per_list);
      proto::user_list chunk;
      chunk.query = query;
      chunk.names.items.reserve(last - first);
      for (std::size_t i = first; i < last; ++i) chunk.names.items.emplace_back(names[i]);
      chunk.final_chunk = last == names.size() ? 1 : 0;
      send(out, id, proto::make_frame(chunk));
    }
  }

  void handle(session_id id, session& s, const proto::block_user& m, time_point, effects& out) {
    const std::string& target = m.name.value;
    if (!is_account(target)) return reply(out, id, proto::outcome::invalid_user, target);
    if (target == s.name) return reply(out, id, proto::outcome::cannot_block_self);
    if (has_blocked(s.name, target)) return reply(out, id, proto::outcome::already_blocked, target);
    if (!store.add_block(s.name, target)) return reply(out, id, proto::outcome::store_failed);
    blocks[s.name].insert(target);
    reply(out, id, proto::outcome::blocked, target);
  }

  void handle(session_id id, session& s, const proto::unblock_user& m, time_point, effects& out) {
    const std::string& target = m.name.value;
    if (!is_account(target)) return reply(out, id, proto::outcome::invalid_user, target);
    if (target == s.name) return reply(out, id, proto::outcome::cannot_unblock_self);
    const auto it = blocks.find(s.name);
    if (it == blocks.end() || !it->second.contains(target))
      return reply(out, id, proto::outcome::not_blocked, target);
    if (!store.remove_block(s.name, target)) return reply(out, id, proto::outcome::store_failed);
    it->second.erase(target);
    if (it->second.empty()) blocks.erase(it);
    reply(out, id, proto::outcome::unblocked, target);
  }

  void handle(session_id id, session& s, const proto::logout_request&, time_point now,
              effects& out) {
    end_with(id, s, proto::end_reason::logged_out, end_cause::logged_out, "logout", now, out);
  }

  // The clock was reset before dispatch; that is all activity does.
  void handle(session_id, session&, const proto::activity&, time_point, effects&) {}

  // ------------------------------------------------------------------ private chats (SPEC 8)

  // Paired with the address this session was seen connecting from when a chat is granted.
  // The latest announcement wins: a peer that reopens its listener says so again. Not activity:
  // the peer announces on its own, the user typed nothing.
  void handle(session_id, session& s, const proto::private_listen& m, time_point, effects&) {
    s.private_port = m.port;
  }

  // Checked in this order; the first that applies is the one answer. A request that passes
  // them is passed on to the target, and the requester's reply says only that.
  void handle(session_id id, session& s, const proto::private_request& m, time_point,
              effects& out) {
    const std::string& to = m.to.value;
    if (!is_account(to)) return reply(out, id, proto::outcome::invalid_user, to);
    if (to == s.name) return reply(out, id, proto::outcome::cannot_private_self);
    const auto target_entry = online.find(to);
    if (target_entry == online.end()) return reply(out, id, proto::outcome::user_offline, to);
    // SPEC 8.1: a target who has blocked the requester is not even asked.
    if (has_blocked(to, s.name)) return reply(out, id, proto::outcome::private_blocked, to);
    const session_id target_id = target_entry->second;
    session& target = sessions.at(target_id);
    if (target.private_port == 0) return reply(out, id, proto::outcome::private_unavailable, to);
    const auto waiting = offers_of(target);
    if (std::ranges::find(waiting, s.name) != waiting.end())
      return reply(out, id, proto::outcome::private_pending, to);
    if (waiting.size() >= config.max_private_offers)
      return reply(out, id, proto::outcome::private_busy, to);

    chats_of(target).offers.push_back(s.name);
    chats_of(s).asked.insert(to);
    send(out, target_id, proto::make_frame(proto::private_offer{s.name}));
    reply(out, id, proto::outcome::private_requested);
  }

  // No reply: the answer only moves the requester on. An answer for nobody waiting (the
  // requester left meanwhile, or never asked) changes nothing.
  void handle(session_id id, session& s, const proto::private_answer& m, time_point, effects& out) {
    if (!s.chats) return;
    auto& offers = s.chats->offers;
    const auto offer = std::ranges::find(offers, m.requester.value);
    if (offer == offers.end()) return;
    offers.erase(offer);
    release_if_settled(s);
    const auto requester_entry = online.find(m.requester.value);
    // Cannot happen while settle_private keeps its promise; an answer to nobody, then.
    if (requester_entry == online.end()) return;
    const session_id requester_id = requester_entry->second;
    session& requester = sessions.at(requester_id);
    forget_asked(requester, s.name);

    if (m.accept == 0)
      return send(out, requester_id, proto::make_frame(proto::private_declined{s.name}));
    grant(id, s, requester_id, requester, out);
  }

  // One fresh token for both sides. The address is where the registry saw the target connect
  // from: a peer never gets to say where others should dial.
  void grant(session_id target_id, const session& target, session_id requester_id,
             const session& requester, effects& out) {
    const std::string token = config.new_token();
    const proto::server_message expect = proto::private_expect{requester.name, token};
    const proto::server_message granted =
        proto::private_granted{target.name, target.address, target.private_port, token};
    // A frame that does not validate would end the receiver's registry session as a protocol
    // error; a broken token source or an address that is not one costs only this chat.
    if (!proto::validate(expect).empty() || !proto::validate(granted).empty())
      return send(out, requester_id, proto::make_frame(proto::private_declined{target.name}));
    // The target first, so that its expectation is on the way before the requester can dial.
    send(out, target_id, proto::make_frame(expect));
    send(out, requester_id, proto::make_frame(granted));
  }

  // A session's private_chats, created on first need. Whoever empties one calls
  // release_if_settled, so that an idle session holds none.
  static private_chats& chats_of(session& s) {
    if (!s.chats) s.chats = std::make_unique<private_chats>();
    return *s.chats;
  }

  static void release_if_settled(session& s) {
    if (s.chats && s.chats->empty()) s.chats.reset();
  }

  // `requester` no longer waits for `target`'s answer.
  static void forget_asked(session& requester, const std::string& target) {
    if (!requester.chats) return;
    requester.chats->asked.erase(target);
    release_if_settled(requester);
  }

  // Everyone waiting for this user's answer is told no (SPEC 8.3), oldest request first.
  void decline_waiting(session& s, effects& out) {
    if (!s.chats) return;
    proto::frame_ptr frame;
    // Only other sessions change in the loop (nobody can ask themselves), so `s.chats` stays.
    for (const std::string& requester : s.chats->offers) {
      const auto entry = online.find(requester);
      if (entry == online.end()) continue;
      forget_asked(sessions.at(entry->second), s.name);
      // Encoded once, for however many are waiting.
      if (!frame) frame = proto::make_frame(proto::private_declined{s.name});
      send(out, entry->second, frame);
    }
    s.chats->offers.clear();
    release_if_settled(s);
  }

  // The user leaves: requests waiting for its answer are declined, and its own requests are
  // withdrawn, so a later answer to one of them finds nobody waiting.
  void settle_private(session& s, effects& out) {
    decline_waiting(s, out);
    if (!s.chats) return;
    for (const std::string& target : s.chats->asked) {
      const auto entry = online.find(target);
      if (entry == online.end()) continue;
      session& other = sessions.at(entry->second);
      if (!other.chats) continue;
      auto& offers = other.chats->offers;
      if (const auto offer = std::ranges::find(offers, s.name); offer != offers.end())
        offers.erase(offer);
      release_if_settled(other);
    }
    s.chats.reset();
  }

  // ------------------------------------------------------------------ deadlines

  void expire(session_id id, time_point now, effects& out) {
    const auto it = sessions.find(id);
    // Entries of sessions that have gone or are already ending are simply dropped.
    if (it == sessions.end() || it->second.at == phase::closing) return;
    session& s = it->second;
    const time_point due = deadline_of(s);
    if (due > now) {
      deadlines.push(due, id);
      return;
    }
    if (s.at == phase::online)
      end_with(id, s, proto::end_reason::inactivity, end_cause::inactivity,
               "no command for the idle timeout", now, out);
    else
      end_with(id, s, proto::end_reason::login_timeout, end_cause::login_timeout,
               std::string("login not completed in time (") + describe(s.at) + ")", now, out);
  }
};

core::core(core_config config, storage& store)
    : state_(std::make_unique<state>(std::move(config), store)) {}

core::~core() = default;

void core::on_connect(session_id id, const std::string& address, time_point now,
                      effects& /*out: nothing to say before the peer's hello*/) {
  const auto [it, inserted] = state_->sessions.try_emplace(id);
  // The shell never reuses a live id; if it did, the first session keeps its state.
  if (!inserted) return;
  session& s = it->second;
  s.address = address;
  s.since = now;
  state_->deadlines.push(state_->deadline_of(s), id);
}

void core::on_message(session_id id, const proto::client_message& message, time_point now,
                      effects& out) {
  const auto it = state_->sessions.find(id);
  if (it == state_->sessions.end()) return;
  session& s = it->second;
  // The end is already on its way; whatever the peer still sent is moot.
  if (s.at == phase::closing) return;

  if (!accepts(s.at, message)) {
    state_->protocol_error(
        id, s, std::string(message_names[message.index()]) + " not allowed while " + describe(s.at),
        now, out);
    return;
  }
  // Every well-formed command of a logged-in user is activity (SPEC 5); the port announcement
  // is the peer's own doing, not a command.
  if (s.at == phase::online && !std::holds_alternative<proto::private_listen>(message))
    s.since = now;
  std::visit([&](const auto& m) { state_->handle(id, s, m, now, out); }, message);
}

void core::on_hash_done(const hash_done& result, time_point now, effects& out) {
  const auto it = state_->sessions.find(result.session);
  if (it == state_->sessions.end()) return;
  session& s = it->second;
  // A ticket identifies one job: an answer for an abandoned attempt is not this one.
  if (result.ticket != s.ticket) return;
  if (s.at == phase::verifying)
    state_->verified(result.session, s, result, now, out);
  else if (s.at == phase::creating)
    state_->created(result.session, s, result, now, out);
}

void core::on_disconnect(session_id id, time_point now, effects& out) {
  const auto it = state_->sessions.find(id);
  if (it == state_->sessions.end()) return;
  session& s = it->second;
  // A lost connection is announced like a logout (SPEC 7); an ended session already was.
  if (s.at == phase::online) state_->leave(s, now, true, out);
  state_->release_reservation(id, s);
  state_->sessions.erase(it);
}

void core::on_tick(time_point now, effects& out) {
  state_->deadlines.pop_due(now, [&](session_id id) { state_->expire(id, now, out); });
}

std::optional<time_point> core::next_deadline() const { return state_->deadlines.earliest(); }

void core::on_shutdown(time_point now, effects& out) {
  // In id order, so the shell (and the log) sees the same sequence on every run.
  std::vector<session_id> ids;
  ids.reserve(state_->sessions.size());
  for (const auto& [id, s] : state_->sessions)
    if (s.at != phase::closing) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  // Every waiting requester hears no before any session_end, which must be a session's last
  // frame.
  for (const session_id id : ids) {
    session& s = state_->sessions.at(id);
    if (s.at == phase::online) state_->decline_waiting(s, out);
  }
  for (const session_id id : ids)
    state_->end_with(id, state_->sessions.at(id), proto::end_reason::shutdown, end_cause::shutdown,
                     "registry shutting down", now, out);
}

std::size_t core::sessions() const { return state_->sessions.size(); }

std::size_t core::online_users() const { return state_->online.size(); }

}  // namespace parley::registry
