// What the registry core needs from durable storage. The SQLite store (registry/store/) is the
// implementation; tests use it too, on ":memory:" or on a file. The core never sees SQL.
//
// load() is the one call that throws (storage_error), and it runs at start-up only: a registry
// that cannot read its accounts must not start as if it had none. Every other call reports a
// failure as a value, as it happens at run time: a write returns false when it could not be
// committed (the core then tells the user, `store_failed`, instead of acknowledging), a read
// returns nothing. The implementation logs each such failure with its cause.
#pragma once

#include "registry/core/clock.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace parley::registry {

struct account_record {
  std::string name;
  std::string password_hash;  // Argon2id, libsodium's encoded string form
  int failed_attempts = 0;
  time_point locked_until{};  // epoch when not locked
  std::optional<time_point> last_logout;
};

struct block_record {
  std::string blocker;
  std::string blocked;
};

struct offline_record {
  std::int64_t id = 0;
  std::string sender;
  std::string text;
  time_point sent_at{};
};

// SPEC 11: a session's resume ticket, as the registry keeps it (never the ticket itself: its
// digest, registry/auth/resume_ticket). `ended_at` unset: the session had not ended when the
// row was last written (it was online, or waiting for its resume); set: its resume window ended
// then, and the ticket may still log the user in again until its lifetime has passed.
inline constexpr std::size_t ticket_digest_bytes = 32;
using ticket_digest = std::array<std::uint8_t, ticket_digest_bytes>;
struct ticket_record {
  std::string name;
  ticket_digest digest{};
  time_point issued_at{};
  std::optional<time_point> ended_at;
};

// Part of a mailbox: `more` when messages past these remain.
struct offline_page {
  std::vector<offline_record> rows;
  bool more = false;
};

// The stored state could not be read. The message names the database file and carries the
// storage engine's own text (SQLite's, for the SQLite store).
class storage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Everything the core keeps in memory, read once at start-up.
struct storage_snapshot {
  std::vector<account_record> accounts;
  std::vector<block_record> blocks;
  // How many messages are stored for each recipient that has any.
  std::vector<std::pair<std::string, std::size_t>> mailboxes;
  // One per account at most (schema version 3).
  std::vector<ticket_record> tickets;
};

class storage {
 public:
  virtual ~storage() = default;

  // Everything stored, at start-up; throws storage_error when it cannot be read whole.
  virtual storage_snapshot load() = 0;

  virtual bool add_account(const std::string& name, const std::string& password_hash,
                           time_point now) = 0;
  virtual bool set_password_hash(const std::string& name, const std::string& password_hash) = 0;
  virtual bool set_lockout(const std::string& name, int failed_attempts,
                           time_point locked_until) = 0;

  virtual bool add_block(const std::string& blocker, const std::string& blocked) = 0;
  virtual bool remove_block(const std::string& blocker, const std::string& blocked) = 0;

  // Stores one message for an offline recipient (durable once the transaction it is in commits:
  // at once outside one).
  virtual bool store_offline(const std::string& recipient, const std::string& sender,
                             const std::string& text, time_point now) = 0;
  // The recipient's messages with ids above `after`, oldest first: at most `max_rows`, and no
  // more than `max_bytes` of text unless the first alone is larger. nullopt on a failure.
  virtual std::optional<offline_page> read_offline(const std::string& recipient, std::int64_t after,
                                                   std::size_t max_rows, std::size_t max_bytes) = 0;
  // Deletes the recipient's messages with ids up to `up_to`; how many, or nullopt on a failure.
  virtual std::optional<std::size_t> delete_offline(const std::string& recipient,
                                                    std::int64_t up_to) = 0;

  // Login history: one row per session, closed by record_logout.
  virtual bool record_login(const std::string& name, time_point now) = 0;
  virtual bool record_logout(const std::string& name, time_point now) = 0;

  // SPEC 11's resume tickets, one per account: a new one replaces the old (and its session is
  // no longer ended); end_ticket starts its second life (the resume window ended); revoke drops it.
  virtual bool issue_ticket(const std::string& name, const ticket_digest& digest,
                            time_point now) = 0;
  virtual bool end_ticket(const std::string& name, time_point now) = 0;
  virtual bool revoke_ticket(const std::string& name) = 0;
};

}  // namespace parley::registry
