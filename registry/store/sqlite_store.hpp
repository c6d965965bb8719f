// The registry's durable state in one SQLite file (WAL). The only code that includes SQLiteCpp
// and the only place SQLite::Exception is caught. Its parts, all in registry/store/: opening and
// inspecting the file and its schema (database_file), the statements and the reads and writes
// (sqlite_store.cpp). Every error at run time is logged (spdlog, error level) with SQLite's own
// text, naming the operation and the file, never a password hash or a message body.
#pragma once

#include "registry/core/storage.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace parley::registry {

class sqlite_store;

struct store_open_result {
  std::unique_ptr<sqlite_store> store;  // set on success
  std::string error;                    // else: names the file and the problem
};

struct store_options {
  static constexpr std::chrono::milliseconds default_busy_timeout{5000};
  // How long a statement waits for a lock held by another connection (an operator's sqlite3
  // shell, say) before it fails. Tests shorten it to see a failure without the wait.
  std::chrono::milliseconds busy_timeout = default_busy_timeout;
};

class sqlite_store final : public storage {
 public:
  // Opens the database at `path` (":memory:" keeps nothing), creating the schema in a new file
  // (or an SQLite database with no tables at all). Anything else that is not a Parley database
  // (another application's SQLite file, a corrupt, truncated or empty file, a newer schema) is
  // refused and left byte-for-byte untouched: it is checked through a read-only connection
  // before anything may write to it. So is a file this process could not write (read-only mode
  // bits, a read-only folder where the -wal and -shm files cannot be created, an immutable file,
  // a write lock held by another process past the busy timeout), and one whose accounts and
  // blocks cannot be read whole (load() is tried once before the first write).
  static store_open_result open(const std::string& path, store_options options = {});

  ~sqlite_store() override;

  // Throws storage_error (naming the file, with SQLite's text) when the file cannot be read.
  storage_snapshot load() override;
  bool add_account(const std::string& name, const std::string& password_hash,
                   time_point now) override;
  bool set_password_hash(const std::string& name, const std::string& password_hash) override;
  bool set_lockout(const std::string& name, int failed_attempts, time_point locked_until) override;
  bool add_block(const std::string& blocker, const std::string& blocked) override;
  bool remove_block(const std::string& blocker, const std::string& blocked) override;
  bool store_offline(const std::string& recipient, const std::string& sender,
                     const std::string& text, time_point now) override;
  std::optional<offline_page> read_offline(const std::string& recipient, std::int64_t after,
                                           std::size_t max_rows, std::size_t max_bytes) override;
  std::optional<std::size_t> delete_offline(const std::string& recipient,
                                            std::int64_t up_to) override;
  bool record_login(const std::string& name, time_point now) override;
  bool record_logout(const std::string& name, time_point now) override;
  bool issue_ticket(const std::string& name, const ticket_digest& digest, time_point now) override;
  bool end_ticket(const std::string& name, time_point now) override;
  bool revoke_ticket(const std::string& name) override;

  // How many messages are stored for the recipient (0 on a failure, which is logged).
  std::size_t count_offline(const std::string& recipient);

  // Group commit (the store worker): every call between begin_batch and commit_batch is one
  // transaction, made durable by one fsync. False when SQLite refused (logged); a failed commit
  // leaves nothing of the batch stored. in_batch() turns false if SQLite rolled the transaction
  // back by itself after an error (a full disk, say).
  bool begin_batch();
  bool commit_batch();
  bool in_batch() const;

  // Sessions left open by a crash are closed at `now` (called once at start-up), except those
  // whose resume ticket says they had not ended (SPEC 11: they may still be resumed).
  void close_dangling_logins(time_point now);

  const std::string& path() const;

  struct impl;
  explicit sqlite_store(std::unique_ptr<impl> impl);

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace parley::registry
