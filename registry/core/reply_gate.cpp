#include "registry/core/reply_gate.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace parley::registry {

void reply_gate::wait(session_id id, std::uint64_t ticket) {
  gate& g = gates_[id];
  g.slots.push_back(slot{ticket, {}, {}});
  ++g.waiting;
}

reply_gate::slot& reply_gate::ready_back(gate& g) {
  if (g.slots.empty() || g.slots.back().ticket != 0) g.slots.emplace_back();
  return g.slots.back();
}

void reply_gate::hold(session_id id, proto::frame_ptr frame) {
  gate& g = gates_.at(id);
  if (g.ended) return;
  g.bytes += frame->size();
  ready_back(g).frames.push_back(std::move(frame));
  if (g.bytes > max_held_bytes_ && !g.overflowed) {
    g.overflowed = true;
    overflowed_.push_back(id);
  }
}

void reply_gate::hold_end(session_id id, effects::end end) {
  gate& g = gates_.at(id);
  if (g.ended) return;
  g.ended = true;
  ready_back(g).end = std::move(end);
}

void reply_gate::complete(session_id id, std::uint64_t ticket, std::vector<proto::frame_ptr> frames,
                          effects& out, std::uint64_t then_wait) {
  const auto it = gates_.find(id);
  if (it == gates_.end()) return;
  gate& g = it->second;
  const auto waiting = std::find_if(g.slots.begin(), g.slots.end(),
                                    [ticket](const slot& s) { return s.ticket == ticket; });
  if (waiting == g.slots.end()) return;
  waiting->ticket = 0;
  --g.waiting;
  for (const auto& frame : frames) g.bytes += frame->size();
  waiting->frames = std::move(frames);
  if (then_wait != 0) {
    g.slots.insert(std::next(waiting), slot{then_wait, {}, {}});
    ++g.waiting;
  }
  while (!g.slots.empty() && g.slots.front().ticket == 0) {
    slot& front = g.slots.front();
    for (auto& frame : front.frames) {
      g.bytes -= frame->size();
      out.sends.push_back(effects::send{id, std::move(frame)});
    }
    if (front.end) out.ends.push_back(std::move(*front.end));
    g.slots.pop_front();
  }
  if (g.slots.empty()) gates_.erase(it);
}

void reply_gate::rekey(session_id from, session_id to) {
  const auto it = gates_.find(from);
  if (it == gates_.end()) return;
  gate moved = std::move(it->second);
  gates_.erase(it);
  for (auto& slot : moved.slots)
    if (slot.end) slot.end->session = to;
  gates_.insert_or_assign(to, std::move(moved));
  for (auto& id : overflowed_)
    if (id == from) id = to;
}

std::size_t reply_gate::waiting(session_id id) const {
  const auto it = gates_.find(id);
  return it == gates_.end() ? 0 : it->second.waiting;
}

std::size_t reply_gate::held_bytes(session_id id) const {
  const auto it = gates_.find(id);
  return it == gates_.end() ? 0 : it->second.bytes;
}

}  // namespace parley::registry
