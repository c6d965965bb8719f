#include "registry/core/presence.hpp"

#include "shared/proto/codec.hpp"

#include <algorithm>
#include <chrono>

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

void presence::announce(const std::string& user, bool now_online, effects& out) const {
  const name_set* blocked_by_user = blocks_.blocked_by(user);
  proto::frame_ptr frame;
  for (const auto& [other, other_id] : sessions_.online()) {
    if (other == user) continue;
    if (blocked_by_user && blocked_by_user->contains(other)) continue;
    // Encoded only once somebody is there to see it, then shared.
    if (!frame)
      frame = proto::make_frame(proto::presence{user, static_cast<std::uint8_t>(now_online)});
    replies_.send(out, other_id, frame);
  }
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
