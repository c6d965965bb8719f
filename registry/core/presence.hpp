// Private to the registry core: SPEC 7's `<user> logged in/out` notices and SPEC 4's whoelse and
// whoelsesince. Reads who is online, the accounts' last logouts and the blocks; owns only the
// notices of the current turn.
//
// The notices are coalesced per turn of the shell's event loop: a login storm announced one
// frame per login to every online user (10,000 logins: 50 million frames). Instead the changes
// of a turn are collected and, at the turn's end (core::on_turn_end), every online user gets one
// presence_batch with the changes it may see. Each recipient sees exactly what it would have seen
// with one notice per change, in the same order:
// - a user who came online during the turn sees only the changes after its own login: it gets
//   the shared frame, which holds its login, and its peer shows only what follows (an own frame
//   only if it must also miss a blocker's changes, or if its login fell into the next batch);
// - a user who goes offline during the turn gets the changes before its own logout then, ahead
//   of its session_end;
// - a change of a user who blocks the recipient is left out (blocks are read at the turn's end:
//   a user can block or unblock only while online, and a newcomer's first command flushes the
//   changes before it is handled, so no block changes between a change and its flush).
// Everyone else, nearly all of them, shares one encoded frame.
#pragma once

#include "registry/core/accounts.hpp"
#include "registry/core/blocks.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/session.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::registry {

class presence {
 public:
  presence(const session_table& sessions, const account_book& accounts, const block_list& blocks,
           const replies& replies)
      : sessions_(sessions), accounts_(accounts), blocks_(blocks), replies_(replies) {}

  // `user` has just come online as session `id`: `<user> logged in` for everyone else online.
  void entered(session_id id, const std::string& user, effects& out);
  // `user` (still in the online index) is about to go offline: it gets the changes of this turn
  // it has not had yet; then, if `announce`, `<user> logged out` for everyone else online.
  // `reachable`: its connection is still there to hear them (not a lost connection or a drop).
  void leaving(const std::string& user, bool announce, bool reachable, effects& out);
  // The end of a turn: the collected changes go out, one frame per recipient.
  void flush(effects& out);
  // Session `id` sends a command. If it came online since the last flush, the changes go out
  // first: nothing it does (a DM, a block) may reach anyone before its own login's notice.
  void before_command(session_id id, effects& out) {
    if (!entered_.empty() && entered_.contains(id)) flush(out);
  }
  bool has_pending() const { return !pending_.empty(); }

  void on_who_else(session_id id, const session& s, effects& out) const;
  void on_who_else_since(session_id id, const session& s, const proto::who_else_since& m,
                         time_point now, effects& out) const;

 private:
  // Lists longer than one frame may carry go out in chunks; the last one says so.
  void send_names(session_id id, proto::user_query query,
                  const std::vector<std::string_view>& names, effects& out) const;

  struct change {
    std::string user;
    bool online = false;
  };
  static constexpr std::size_t sees_none = static_cast<std::size_t>(-1);
  // The frame of pending_[first, last) as `recipient` may see it (not its own name, not users
  // who block it); null when nothing is left.
  proto::frame_ptr frame_for(std::string_view recipient, std::size_t first, std::size_t last) const;

  // This turn's changes, oldest first; at most proto::max_presence_per_batch (then flushed).
  std::vector<change> pending_;
  // Sessions that came online during this turn, and the index of their own change in pending_
  // (sees_none: logged in just before a full batch was flushed, so it sees none of it).
  std::unordered_map<session_id, std::size_t> entered_;

  const session_table& sessions_;
  const account_book& accounts_;
  const block_list& blocks_;
  const replies& replies_;
};

}  // namespace parley::registry
