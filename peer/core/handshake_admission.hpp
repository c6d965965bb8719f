// Which incoming private-chat connections may wait for their handshake (SPEC 8.8), as a pure
// piece: no sockets, no clock. The listener asks before it gives a connection anything (a
// framed connection, a buffer, a timer) and tells it when a handshake ends, however it ends.
//
// A handshake is pending from its accept until the core's verdict on its hello (or its 5 s
// deadline). Pending handshakes are bounded per source address and in total, so one address
// reopening silent connections holds at most its share. A connection from an address the
// registry named for a requester this user agreed to (an expected address) is never refused
// for lack of room: if its address has used its share, or every place is taken, the oldest
// pending handshake makes way for it, from another address where there is one. An honest dialer
// sends its hello as soon as it connects, so the oldest pending handshake is nearly always one
// that has been silent the longest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace parley::peer {

struct handshake_limits {
  // Pending handshakes from one address; 0: no bound but the total.
  std::size_t per_address = 8;
  // Pending handshakes in all; at least 1.
  std::size_t total = 64;
};

class handshake_admission {
 public:
  // Names one pending handshake, in the order they were admitted.
  using ticket = std::uint64_t;

  enum class refusal {
    none,
    per_address,  // the address has `per_address` handshakes pending
    total,        // `total` handshakes are pending
  };

  struct verdict {
    // The new handshake's ticket when it may wait; nothing when it is to be closed at once.
    std::optional<ticket> admitted;
    // A pending handshake that made way for this one: the caller closes it (it is already
    // forgotten here).
    std::optional<ticket> evicted;
    refusal refused = refusal::none;
  };

  explicit handshake_admission(handshake_limits limits);

  // A connection from `address` has been accepted; `expected` is whether the registry named
  // that address for a requester this user agreed to.
  verdict admit(std::string_view address, bool expected);
  // The handshake ended (a verdict, its deadline, its connection closed). Unknown tickets and
  // repeated releases are ignored.
  void release(ticket t);

  const handshake_limits& limits() const { return limits_; }
  std::size_t pending() const { return by_age_.size(); }
  std::size_t pending_from(std::string_view address) const;

 private:
  // The oldest pending handshake, from `address` (or from anywhere else when `other` is set).
  std::optional<ticket> oldest(std::string_view address, bool other) const;
  void forget(std::map<ticket, std::string>::iterator entry);

  handshake_limits limits_;
  ticket next_ = 1;
  std::map<ticket, std::string> by_age_;                         // ticket -> source address
  std::map<std::string, std::size_t, std::less<>> per_address_;  // address -> pending count
};

}  // namespace parley::peer
