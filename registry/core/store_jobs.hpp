// Durable writes (and the reads that must see them) as data: the core asks for them in its
// effects, the shell's store worker (registry/store/store_worker.hpp) runs them on a thread of
// its own, many in one transaction, and hands each answer back to core::on_store_done with the
// job's ticket. The network thread never waits for a disk (SPEC 6, 9.1).
//
// The worker runs jobs strictly in the order the core asked for them and answers them in that
// order, so a read sees every write asked for before it (an offline message stored for a user
// is in the mailbox read at that user's next login), and a session's acknowledgements come back
// in the order of its commands.
#pragma once

#include "registry/core/clock.hpp"
#include "registry/core/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace parley::registry {

namespace store_request {
struct add_account {
  std::string name;
  std::string password_hash;
  time_point now{};
};
struct set_password_hash {
  std::string name;
  std::string password_hash;
};
struct set_lockout {
  std::string name;
  int failed_attempts = 0;
  time_point locked_until{};
};
struct add_block {
  std::string blocker;
  std::string blocked;
};
struct remove_block {
  std::string blocker;
  std::string blocked;
};
struct store_offline {
  std::string recipient;
  std::string sender;
  std::string text;
  time_point now{};
};
// The recipient's stored messages with ids above `after`, oldest first: at most `max_rows`,
// and no more than `max_bytes` of text (at least one row if there is one).
struct read_offline {
  std::string recipient;
  std::int64_t after = 0;
  std::size_t max_rows = 0;
  std::size_t max_bytes = 0;
};
// Every stored message of the recipient with an id up to `up_to` (the peer confirmed them).
struct delete_offline {
  std::string recipient;
  std::int64_t up_to = 0;
};
struct record_login {
  std::string name;
  time_point now{};
};
struct record_logout {
  std::string name;
  time_point now{};
};
struct issue_ticket {
  std::string name;
  ticket_digest digest{};
  time_point now{};
};
struct end_ticket {
  std::string name;
  time_point now{};
};
struct revoke_ticket {
  std::string name;
};
}  // namespace store_request

using store_operation =
    std::variant<store_request::add_account, store_request::set_password_hash,
                 store_request::set_lockout, store_request::add_block, store_request::remove_block,
                 store_request::store_offline, store_request::read_offline,
                 store_request::delete_offline, store_request::record_login,
                 store_request::record_logout, store_request::issue_ticket,
                 store_request::end_ticket, store_request::revoke_ticket>;

struct store_job {
  std::uint64_t ticket = 0;
  store_operation what;
};

struct store_done {
  std::uint64_t ticket = 0;
  // The write is committed (for a read: the rows were read). False: nothing of it is stored,
  // and the store has logged why.
  bool ok = false;
  std::size_t changed = 0;           // delete_offline: how many messages went
  std::vector<offline_record> rows;  // read_offline
  bool more = false;                 // read_offline: rows past these remain
};

}  // namespace parley::registry
