// Private to the registry core: the frames of sessions that wait for the store (SPEC 6: a reply
// is sent after the commit that holds what it acknowledges).
//
// A session's frames leave in the order the core made them. A command whose reply depends on a
// commit (a message stored for an offline user, a block, a wrong password counted towards a
// lockout) leaves a waiting slot; every later frame to that session, whoever it is from, queues
// behind it, and goes out once the slots before it have their answers. A session waiting for
// nothing has no entry here, and its frames go out at once.
#pragma once

#include "registry/core/registry_core.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::registry {

class reply_gate {
 public:
  // A session holding more than `max_held_bytes` is reported by take_overflowed().
  explicit reply_gate(std::size_t max_held_bytes) : max_held_bytes_(max_held_bytes) {}

  bool holds(session_id id) const { return !gates_.empty() && gates_.contains(id); }

  // From now on the session's frames wait behind the answer to `ticket`.
  void wait(session_id id, std::uint64_t ticket);

  // A frame for a session this gate holds: queued behind what it waits for.
  void hold(session_id id, proto::frame_ptr frame);
  // The session's end, after its frames; frames held after it are dropped.
  void hold_end(session_id id, effects::end end);

  // The answer to `ticket` came: `frames` take its place, then every slot at the front that
  // waits for nothing more goes out, in order. Unknown tickets are ignored. With `then_wait`,
  // what was held behind `ticket` now waits behind `then_wait` too (the next page of a mailbox:
  // see mailbox.hpp).
  void complete(session_id id, std::uint64_t ticket, std::vector<proto::frame_ptr> frames,
                effects& out, std::uint64_t then_wait = 0);

  // Sessions that passed max_held_bytes since the last call, each once.
  std::vector<session_id> take_overflowed() { return std::exchange(overflowed_, {}); }

  // The session is gone: whatever it held is dropped.
  void forget(session_id id) { gates_.erase(id); }

  // What `from` holds is now held for `to` (which holds nothing): a resumed session (SPEC 11).
  void rekey(session_id from, session_id to);

  // Answers the session still waits for (its replies not yet sent), and the bytes it holds.
  std::size_t waiting(session_id id) const;
  std::size_t held_bytes(session_id id) const;

 private:
  struct slot {
    std::uint64_t ticket = 0;  // 0: waits for nothing
    std::vector<proto::frame_ptr> frames;
    std::optional<effects::end> end;
  };
  struct gate {
    std::deque<slot> slots;
    std::size_t waiting = 0;
    std::size_t bytes = 0;
    bool ended = false;
    bool overflowed = false;
  };
  // The slot new frames go to: the last one, unless it still waits.
  static slot& ready_back(gate& g);

  std::size_t max_held_bytes_;
  std::unordered_map<session_id, gate> gates_;
  std::vector<session_id> overflowed_;
};

}  // namespace parley::registry
