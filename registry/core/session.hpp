// Private to the registry core: one connection's state, the phases of its life, and the table of
// sessions with its index of who is online (SPEC 3's "already logged in", SPEC 4's whoelse).
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/registry_core.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::registry {

// std::less<> makes lookups by string_view allocation-free.
using name_set = std::set<std::string, std::less<>>;
template <class Value>
using by_name = std::map<std::string, Value, std::less<>>;

// Where a connection is in its life. Each phase accepts exactly the messages listed in
// `accepts` (registry_core.cpp); anything else is a protocol error. One byte: it is packed into
// every session.
enum class phase : std::uint8_t {
  awaiting_hello,
  awaiting_name,
  awaiting_password,      // known account
  awaiting_new_password,  // unknown account: the name is reserved for this session
  verifying,              // a verify hash_job is in flight
  creating,               // a create hash_job is in flight; the name is still reserved
  online,
  closing,  // the core asked for the end; waiting for on_disconnect
  // SPEC 11: online, but its connection is gone (or the registry restarted) and it waits for
  // its resume. No connection: its frames wait in the reply gate, and no on_disconnect comes.
  suspended,
};
const char* describe(phase at);

class private_broker;

// One online user's part in SPEC 8's brokering. Only private_broker reads or writes it (hence
// the private members): the rule "whoever leaves settles both sides" is kept in one place.
class private_slot {
  friend class private_broker;

  // A requester waiting for this user's y/n, with its chat key when it sent one
  // (private_invite, SPEC 10): 32 bytes more per waiting request, none once it is answered.
  struct offer {
    std::string requester;
    std::optional<proto::chat_public_key> key;
  };
  struct waiting {
    std::vector<offer> offers;  // oldest first
    name_set asked;             // users whose y/n this user's requests wait for
    bool empty() const { return offers.empty() && asked.empty(); }
  };
  // Null while no request waits for this user's answer or for anyone else's answer to this
  // user, which is almost always: created by the first request, released as soon as it is empty
  // again, so a null pointer and an empty `waiting` mean the same.
  std::unique_ptr<waiting> waiting_;
  std::uint16_t port_ = 0;  // as announced by private_listen; 0: none yet
};

// One connection. The registry keeps one per client, most of them logged in and idle, so the
// members are ordered by size to leave no padding, and what most sessions never use lives
// behind a pointer.
struct session {
  std::string address;
  std::string name;  // the name being logged in, from awaiting_*password on
  // The moment the deadlines count from: the connection's, before login (the login deadline),
  // then the last activity once online (the idle timeout). A session never returns from online
  // to a login phase, so the two are never needed at once (core::state::deadline_of).
  time_point since{};
  std::uint64_t ticket = 0;  // of the hash_job in flight
  // The slot's tail padding holds `at`.
  [[no_unique_address]] private_slot chats;
  phase at = phase::awaiting_hello;
};
// The idle-memory figures of docs/BENCHMARKS.md count on this.
static_assert(sizeof(session) <= 96, "session grew: idle memory per client follows it");

// Every connected session, and the online ones by name.
class session_table {
 public:
  // Keyed by a view of the session's own name, which does not change while it is online: the
  // name is only assigned or cleared in the login phases, and the entry is erased (go_offline)
  // before the session itself is (erase). unordered_map nodes stay put, so the view stays valid
  // while the entry lives. This saves a copy of every online user's name. Sorted, so whoelse
  // answers in name order.
  using online_index = std::map<std::string_view, session_id, std::less<>>;

  // Null if the id is unknown (or already erased).
  session* find(session_id id) {
    const auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
  }
  const session* find(session_id id) const {
    const auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
  }
  session& at(session_id id) { return sessions_.at(id); }
  // The new session, or null when the id is live already (the first session keeps its state).
  session* add(session_id id) {
    const auto [it, inserted] = sessions_.try_emplace(id);
    return inserted ? &it->second : nullptr;
  }
  void erase(session_id id) { sessions_.erase(id); }
  const std::unordered_map<session_id, session>& all() const { return sessions_; }
  std::size_t size() const { return sessions_.size(); }

  // The session of the user online under `name`, if any.
  std::optional<session_id> online_id(std::string_view name) const {
    const auto it = online_.find(name);
    if (it == online_.end()) return std::nullopt;
    return it->second;
  }
  bool is_online(std::string_view name) const { return online_.contains(name); }
  // Online with a connection: not waiting for a resume (SPEC 11), which a password login
  // replaces and a message to does not reach (it is stored instead).
  std::optional<session_id> connected_id(std::string_view name) const {
    const auto id = online_id(name);
    if (!id) return std::nullopt;
    const session* s = find(*id);
    if (!s || s->at == phase::suspended) return std::nullopt;
    return id;
  }
  bool is_connected(std::string_view name) const { return connected_id(name).has_value(); }
  void go_online(session_id id, const session& s) { online_.emplace(s.name, id); }
  void go_offline(const session& s) { online_.erase(s.name); }
  const online_index& online() const { return online_; }

 private:
  // Declared before `online_`, whose keys view the sessions' names, so that it outlives them.
  std::unordered_map<session_id, session> sessions_;
  online_index online_;
};

}  // namespace parley::registry
