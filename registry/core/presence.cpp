#include "registry/core/presence.hpp"

#include "shared/proto/codec.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace parley::registry {
namespace {

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

void presence::entered(session_id id, const std::string& user, effects& out) {
  if (pending_.size() >= proto::max_presence_per_batch) {
    // The full batch goes out first, and the newcomer was not online for any of it.
    entered_[id] = sees_none;
    flush(out);
  }
  entered_[id] = pending_.size();
  pending_.push_back(change{user, true});
}

void presence::leaving(const std::string& user, bool announce, bool reachable, effects& out) {
  if (announce && pending_.size() >= proto::max_presence_per_batch) flush(out);
  if (const auto id = sessions_.online_id(user)) {
    std::size_t first = 0;
    if (const auto it = entered_.find(*id); it != entered_.end()) {
      first = it->second == sees_none ? pending_.size() : it->second + 1;
      entered_.erase(it);
    }
    // Ahead of its session_end: what it would have heard had each change gone out at once. (Not
    // to a connection that has gone, or one dropped without a last frame.)
    if (auto frame = reachable ? frame_for(user, first, pending_.size()) : nullptr)
      replies_.send(out, *id, frame);
  }
  if (announce) pending_.push_back(change{user, false});
}

proto::frame_ptr presence::frame_for(std::string_view recipient, std::size_t first,
                                     std::size_t last) const {
  proto::presence_batch batch;
  for (std::size_t i = first; i < last; ++i) {
    const change& c = pending_[i];
    if (c.user == recipient || blocks_.has_blocked(c.user, recipient)) continue;
    batch.changes.items.push_back(proto::presence{c.user, static_cast<std::uint8_t>(c.online)});
  }
  if (batch.changes.items.empty()) return nullptr;
  return proto::make_frame(batch);
}

void presence::flush(effects& out) {
  if (pending_.empty()) {
    entered_.clear();
    return;
  }
  // Who cannot take the shared frame: the users a changed user blocks (a frame of their own,
  // from their own login on if they are newcomers), and newcomers who logged in just as a full
  // batch went out (nothing: their login is in the next batch). Other newcomers share the frame:
  // their peer shows only what follows their own login in it (docs/PROTOCOL.md).
  std::unordered_map<session_id, std::size_t> own_frame;
  // (A newcomer whose login is the last change has nothing to hear: not even the shared frame.)
  for (const auto& [id, index] : entered_)
    if (index == sees_none || index + 1 >= pending_.size()) own_frame[id] = pending_.size();
  for (const change& c : pending_) {
    const name_set* blocked = blocks_.blocked_by(c.user);
    if (!blocked) continue;
    for (const std::string& name : *blocked) {
      const auto id = sessions_.online_id(name);
      if (!id) continue;
      const auto entry = entered_.find(*id);
      own_frame.try_emplace(*id, entry == entered_.end()      ? 0
                                 : entry->second == sees_none ? pending_.size()
                                                              : entry->second + 1);
    }
  }
  proto::frame_ptr shared;
  for (const auto& [name, id] : sessions_.online()) {
    if (const auto it = own_frame.find(id); it != own_frame.end()) {
      if (auto frame = frame_for(name, it->second, pending_.size()))
        replies_.send(out, id, std::move(frame));
      continue;
    }
    // Encoded once somebody is there to see it, with every change.
    if (!shared) {
      proto::presence_batch batch;
      batch.changes.items.reserve(pending_.size());
      for (const change& c : pending_)
        batch.changes.items.push_back(proto::presence{c.user, static_cast<std::uint8_t>(c.online)});
      shared = proto::make_frame(batch);
    }
    replies_.send(out, id, shared);
  }
  pending_.clear();
  entered_.clear();
}

void presence::on_who_else(session_id id, const session& s, effects& out) const {
  std::vector<std::string_view> names;
  for (const auto& [other, other_id] : sessions_.online())
    if (other_id != id && !blocks_.has_blocked(other, s.name)) names.push_back(other);
  if (names.empty()) return replies_.outcome(out, id, proto::outcome::no_other_users_online);
  send_names(id, proto::user_query::whoelse, names, out);
}

void presence::on_who_else_since(session_id id, const session& s, const proto::who_else_since& m,
                                 time_point now, effects& out) const {
  std::vector<std::string_view> names;
  // The accounts are sorted by name, so the answer is too.
  for (const auto& [name, a] : accounts_.all()) {
    if (name == s.name || blocks_.has_blocked(name, s.name)) continue;
    const bool seen =
        sessions_.is_online(name) || (a.last_logout && within_last(*a.last_logout, now, m.seconds));
    if (seen) names.push_back(name);
  }
  if (names.empty()) return replies_.outcome(out, id, proto::outcome::no_other_users);
  send_names(id, proto::user_query::whoelsesince, names, out);
}

void presence::send_names(session_id id, proto::user_query query,
                          const std::vector<std::string_view>& names, effects& out) const {
  for (std::size_t first = 0; first < names.size(); first += proto::max_names_per_list) {
    const std::size_t last = std::min(names.size(), first + proto::max_names_per_list);
    proto::user_list chunk;
    chunk.query = query;
    chunk.names.items.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) chunk.names.items.emplace_back(names[i]);
    chunk.final_chunk = last == names.size() ? 1 : 0;
    replies_.send(out, id, proto::make_frame(chunk));
  }
}

}  // namespace parley::registry
