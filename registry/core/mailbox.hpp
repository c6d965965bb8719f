// Private to the registry core: SPEC 6's exactly-once delivery of the messages stored for a user
// while it was offline. At login they are read from the store a page at a time and sent, oldest
// first, right after the welcome; everything else for the session waits behind them (the reply
// gate), and the login is announced once the last page is out (SPEC 3.5). A message leaves the
// store only when the peer confirms it (stored_received); the next page is read once the peer
// has confirmed the last one, so a full mailbox is never in one outgoing queue at once. A peer
// that goes before confirming gets the same messages, with the same ids, at its next login.
#pragma once

#include "registry/core/accounts.hpp"
#include "registry/core/durable.hpp"
#include "registry/core/replies.hpp"
#include "registry/core/reply_gate.hpp"
#include "registry/core/session.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace parley::registry {

class mailbox {
 public:
  mailbox(std::size_t page_rows, std::size_t page_bytes, durable& store, reply_gate& gate,
          account_book& accounts, const replies& replies);

  // At login (after the welcome): true when the user has stored messages, which are being read
  // (the session's frames wait for them); false when there is nothing to read (stored_end is
  // sent at once). The last page is followed by stored_end.
  // `announce`: the login is announced once the mailbox is read (false for a resumed session,
  // SPEC 11, whose login was announced before).
  bool open(session_id id, const session& s, effects& out, bool announce = true);

  // A page was read for the session. True when the mailbox has been read to its end: the login
  // may be announced now.
  bool on_page(session_id id, const std::string& user, std::uint64_t ticket, const store_done& done,
               effects& out);

  // The peer has shown the messages up to `up_to`.
  void on_confirm(session_id id, const session& s, std::uint64_t up_to);

  // Confirmed messages were deleted.
  void on_deleted(const store_waiter& waiter, const store_done& done);

  // Still being read: the login is not announced yet (so a logout is not either).
  bool reading(session_id id) const {
    const auto it = states_.find(id);
    return it != states_.end() && !it->second.read_to_end && it->second.announce;
  }

  // The session has left: a page still being read is answered with nothing (on_page), one not
  // asked for yet is given up, so that what waits behind it goes out.
  void forget(session_id id, effects& out);

 private:
  struct state {
    std::int64_t sent = 0;        // the last id sent to the peer
    std::int64_t confirmed = 0;   // the last id the peer confirmed
    std::int64_t page_end = 0;    // the last id of the page sent (it may not have been sendable)
    std::uint64_t next_page = 0;  // the ticket the next page will have, once asked for
    bool read_to_end = false;
    bool announce = true;
  };
  void read_page(session_id id, const std::string& user, std::int64_t after, std::uint64_t ticket);

  std::size_t page_rows_;
  std::size_t page_bytes_;
  durable& store_;
  reply_gate& gate_;
  account_book& accounts_;
  const replies& replies_;
  proto::frame_ptr end_frame_;
  std::unordered_map<session_id, state> states_;
};

}  // namespace parley::registry
