// Private to shared/net: the budget for the sum of the outgoing queues of every connection on one
// io_context (SPEC 9.1), kept by that io_context's outbox. Each connection already bounds its own
// queue; this bounds them together, so that many readers that each stay under their own bound
// cannot add up to more memory than the budget.
//
// What is counted: every queued frame, per queue that holds it, at its size plus
// queued_frame_overhead (framed_connection.hpp). A broadcast frame that is encoded once and queued
// by many connections is counted once per connection: more than the memory it really takes, so
// the budget errs on the side of dropping early, never late.
//
// Who is dropped when a send would pass the budget: the slowest reader, meaning the connection
// that holds the most queued bytes among those whose kernel buffer is full (they wait for
// writability: their reader has fallen behind). Among equals, the one that has waited longest.
// A connection whose frames have not yet been offered to the kernel is never a candidate: it has
// had no chance to read them. Dropping the largest holder frees the most memory per dropped
// session, and a reader that keeps up never holds much, so an attacker's non-reading sessions,
// which hold the most, go before anyone else's.
//
// The cost: nothing per send while the total is under the budget (an addition and a comparison).
// Only a send that would pass it pays for the choice: the connections waiting for writability
// are ordered once, and the largest dropped until the total is a sixteenth of the budget below
// it, so that the next such choice is at least that many bytes of sends away.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace parley::net {

class framed_connection;

class queue_budget {
 public:
  // A connection's place among the waiting ones, kept in its spill: none.
  static constexpr std::uint32_t not_waiting = std::numeric_limits<std::uint32_t>::max();

  // 0: no budget (the default, and the peer's).
  void set_limit(std::size_t bytes) { limit_ = bytes; }
  std::size_t limit() const { return limit_; }
  std::size_t total() const { return total_; }

  // `bytes` more are to be queued on `to`. While that would pass the budget, the slowest readers
  // are dropped (`to` among them, if it is the slowest). Returns false when `to` was dropped;
  // otherwise the bytes are counted. With no slow reader left to drop they are counted all the
  // same: everything queued then is in the outbox, offered to the kernel at the end of this
  // turn of the event loop, and enforce() runs after that.
  bool charge(framed_connection& to, std::size_t bytes) {
    // Inline, since every send comes here: under the budget this is all it costs.
    if (limit_ != 0 && total_ + bytes > limit_) return charge_over_limit(to, bytes);
    total_ += bytes;
    return true;
  }
  void release(std::size_t bytes) { total_ -= bytes; }

  // After the outbox has been written: drops the slowest readers while the total is over.
  void enforce();

  // The connection's kernel buffer is full (it waits for writability), or no longer is.
  void add_waiting(framed_connection& connection);
  void remove_waiting(framed_connection& connection);

  // The io_context is going away: the connections are no longer looked at.
  void forget_connections() { waiting_.clear(); }

 private:
  bool charge_over_limit(framed_connection& to, std::size_t bytes);
  // Drops the slowest readers until `incoming` more bytes fit below the low-water mark, or no
  // candidate is left.
  void drop_slowest(std::size_t incoming);

  std::size_t limit_ = 0;
  std::size_t total_ = 0;
  // Connections waiting for writability, in no order (removal swaps the last one in).
  std::vector<framed_connection*> waiting_;
  // Counts the starts of waiting, to break ties between equal holders.
  std::uint64_t waits_started_ = 0;
  // Reused by drop_slowest: the candidates, ordered.
  std::vector<framed_connection*> candidates_;
};

}  // namespace parley::net
