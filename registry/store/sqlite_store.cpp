// The store's statements, prepared once on the connection database_file opened, and the reads
// and writes of the storage interface. A failure at run time is logged here, where SQLite's
// message is known, and returned as false (or nothing) to the core.
#include "registry/store/sqlite_store.hpp"

#include "registry/store/database_file.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace parley::registry {
namespace {

using store_detail::describe;

// Staged offline messages are moved into the indexed table once there are this many (and
// before any read of a mailbox). A move writes about one index page per recipient among them,
// so the more rows it moves at once the less each costs, and the longer the batch it falls in
// waits for its commit. Measured on the offline flood to 2,000 recipients, 10 s on disk
// (docs/BENCHMARKS.md): 16,384 rows 2.0 KiB written per message, 105,000/s; 32,768 rows
// 1.6 KiB, 114,000/s; 65,536 rows 1.4 KiB, 117,000/s. A move is one statement on the store
// worker, inside the batch, so it never holds up the network thread; what it holds up is that
// batch's acknowledgements and a login's first page of stored messages (about 0.1 s).
constexpr std::int64_t staged_flush_rows = 32768;

// Leaves a reused statement ready for its next use when the call is done, also on an
// exception: a SELECT left un-reset holds its read transaction open, which would stop WAL
// checkpoints, and cleared bindings drop our copies of hashes and message bodies.
class statement_use {
 public:
  explicit statement_use(SQLite::Statement& statement) : statement_(statement) {}
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use() {
    statement_.tryReset();
    try {
      statement_.clearBindings();
    } catch (const SQLite::Exception& e) {
      // sqlite3_clear_bindings does not fail on a prepared statement; should it ever, say so.
      spdlog::error("store: could not clear a statement's bindings: {}", e.what());
    }
  }

 private:
  SQLite::Statement& statement_;
};

}  // namespace

// Not thread-safe: one connection, used by one thread at a time (the main thread at start-up,
// then the store worker's).
struct sqlite_store::impl {
  impl(std::string path, SQLite::Database db)
      : path_(std::move(path)),
        db_(std::move(db)),
        select_accounts_(db_,
                         "SELECT name, password_hash, failed_attempts, locked_until,"
                         " (SELECT max(logout_at) FROM logins WHERE logins.name = accounts.name)"
                         " FROM accounts ORDER BY name"),
        select_blocks_(db_, "SELECT blocker, blocked FROM blocks ORDER BY blocker, blocked"),
        insert_account_(db_,
                        "INSERT INTO accounts (name, password_hash, created_at)"
                        " VALUES (:name, :password_hash, :created_at)"),
        update_password_hash_(db_,
                              "UPDATE accounts SET password_hash = :password_hash"
                              " WHERE name = :name"),
        update_lockout_(db_,
                        "UPDATE accounts SET failed_attempts = :failed_attempts,"
                        " locked_until = :locked_until WHERE name = :name"),
        // Blocking twice leaves one row: the caller asked for a state, and it holds.
        insert_block_(db_,
                      "INSERT INTO blocks (blocker, blocked) VALUES (:blocker, :blocked)"
                      " ON CONFLICT (blocker, blocked) DO NOTHING"),
        delete_block_(db_, "DELETE FROM blocks WHERE blocker = :blocker AND blocked = :blocked"),
        select_offline_(db_,
                        "SELECT id, sender, body, sent_at FROM offline_messages"
                        " WHERE recipient = :recipient AND id > :after ORDER BY id"
                        " LIMIT :max_rows"),
        delete_offline_(db_,
                        "DELETE FROM offline_messages WHERE recipient = :recipient"
                        " AND id <= :last_id"),
        insert_login_(db_, "INSERT INTO logins (name, login_at) VALUES (:name, :login_at)"),
        close_login_(db_,
                     "UPDATE logins SET logout_at = :logout_at WHERE id ="
                     " (SELECT max(id) FROM logins WHERE name = :name AND logout_at IS NULL)") {}

  // The log line of a failed call: what was being done (names only: never a hash or a message
  // body), the file, and why (SQLite's own message).
  void log_failure(const std::string& doing, const char* why) const {
    spdlog::error("store: could not {} in {}: {}", doing, describe(path_), why);
  }

  // Runs a one-step write; false (and nothing changed) if SQLite refused it. With
  // `must_change_a_row`, a statement that matched no row counts as a failure too. `doing` says
  // what the write is for, only when it failed.
  template <typename Bind, typename Doing>
  bool write(SQLite::Statement& statement, Bind&& bind, bool must_change_a_row, Doing&& doing) {
    try {
      statement_use use(statement);
      bind(statement);
      const int changed = statement.exec();
      if (must_change_a_row && changed == 0) {
        log_failure(doing(), "no row matched");
        return false;
      }
      return true;
    } catch (const SQLite::Exception& e) {
      log_failure(doing(), e.what());
      return false;
    }
  }

  std::string path_;
  // Declared before the statements, so it is destroyed after them.
  SQLite::Database db_;
  SQLite::Statement select_accounts_;
  SQLite::Statement select_blocks_;
  SQLite::Statement insert_account_;
  SQLite::Statement update_password_hash_;
  SQLite::Statement update_lockout_;
  SQLite::Statement insert_block_;
  SQLite::Statement delete_block_;
  SQLite::Statement select_offline_;
  SQLite::Statement delete_offline_;
  SQLite::Statement insert_login_;
  SQLite::Statement close_login_;

  // The statements of offline_staged (schema version 2): prepared once the file has it, after
  // the upgrade of a version 1 file (which happens only once it has been loaded).
  struct staging {
    explicit staging(SQLite::Database& db)
        : insert(db,
                 "INSERT INTO offline_staged (recipient, sender, body, sent_at)"
                 " VALUES (:recipient, :sender, :body, :sent_at)"),
          // In id order: the table's rows are appended, and the index pages each change once
          // in the cache within the one statement.
          move(db,
               "INSERT INTO offline_messages (id, recipient, sender, body, sent_at)"
               " SELECT id, recipient, sender, body, sent_at FROM offline_staged ORDER BY id"),
          clear(db, "DELETE FROM offline_staged"),
          count(db,
                "SELECT (SELECT count(*) FROM offline_messages WHERE recipient = :recipient) +"
                " (SELECT count(*) FROM offline_staged WHERE recipient = :recipient)"),
          rows(db.execAndGet("SELECT count(*) FROM offline_staged").getInt64()) {}
    SQLite::Statement insert;
    SQLite::Statement move;
    SQLite::Statement clear;
    SQLite::Statement count;
    std::int64_t rows;  // staged since the last move, as far as this connection knows
  };
  std::optional<staging> staged_;

  // The statements of resume_tickets (schema version 3), prepared like staging's.
  struct ticketing {
    explicit ticketing(SQLite::Database& db)
        : issue(db,
                "INSERT INTO resume_tickets (name, digest, issued_at) VALUES (:name, :digest, :now)"
                " ON CONFLICT (name) DO UPDATE SET digest = excluded.digest,"
                " issued_at = excluded.issued_at, ended_at = NULL"),
          end(db, "UPDATE resume_tickets SET ended_at = :now WHERE name = :name"),
          revoke(db, "DELETE FROM resume_tickets WHERE name = :name"),
          // A session whose ticket row says it had not ended is not over: it may be resumed
          // after this start (SPEC 11), and its login row is closed when it ends.
          close_open_logins(db,
                            "UPDATE logins SET logout_at = :logout_at WHERE logout_at IS NULL"
                            " AND name NOT IN (SELECT name FROM resume_tickets"
                            " WHERE ended_at IS NULL)") {}
    SQLite::Statement issue;
    SQLite::Statement end;
    SQLite::Statement revoke;
    SQLite::Statement close_open_logins;
  };
  std::optional<ticketing> tickets_;

  // Moves every staged row into offline_messages, in a savepoint of its own (inside the
  // worker's batch, or a transaction by itself): all of them or, on a failure, none.
  bool flush_staged() {
    try {
      db_.exec("SAVEPOINT flush_staged");
    } catch (const SQLite::Exception& e) {
      log_failure("move the staged offline messages", e.what());
      return false;
    }
    try {
      {
        statement_use use(staged_->move);
        staged_->move.exec();
      }
      {
        statement_use use(staged_->clear);
        staged_->clear.exec();
      }
      db_.exec("RELEASE flush_staged");
      staged_->rows = 0;
      return true;
    } catch (const SQLite::Exception& e) {
      log_failure("move the staged offline messages", e.what());
      try {
        // SQLite may have rolled the whole transaction back itself (an I/O error, a full disk):
        // then the savepoint is gone with it.
        if (sqlite3_get_autocommit(db_.getHandle()) == 0) {
          db_.exec("ROLLBACK TO flush_staged");
          db_.exec("RELEASE flush_staged");
        }
      } catch (const SQLite::Exception& rollback) {
        log_failure("roll back the move of the staged offline messages", rollback.what());
      }
      return false;
    }
  }
};

store_open_result sqlite_store::open(const std::string& path, store_options options) {
  auto opened = store_detail::open_database(path, options.busy_timeout);
  if (!opened.db) return {nullptr, std::move(opened.error)};
  std::unique_ptr<impl> state;
  try {
    state = std::make_unique<impl>(path, std::move(*opened.db));
    // A version 1 file gets its staging table at its upgrade, below; any other has it now.
    if (state->db_.tableExists("offline_staged")) state->staged_.emplace(state->db_);
    if (state->db_.tableExists("resume_tickets")) state->tickets_.emplace(state->db_);
  } catch (const SQLite::Exception& e) {
    // The file passed inspection, so a statement that does not prepare means a schema we do
    // not know after all (a column renamed or missing, say). Nothing has been written to it.
    return {nullptr, describe(path) + " has a schema this build does not know (" + e.what() + ")"};
  }
  auto store = std::make_unique<sqlite_store>(std::move(state));
  // The reads of start-up, once before anything is written: inspection's quick_check does not
  // compare an index with its table, and a file that cannot be loaded must be refused as it was.
  try {
    store->load();
  } catch (const storage_error& e) {
    return {nullptr, e.what()};
  }
  // Only now may the file be written: everything the store reads has been found in it.
  if (auto error = store_detail::start_writing(store->impl_->db_, path); !error.empty())
    return {nullptr, std::move(error)};
  if (!store->impl_->staged_ || !store->impl_->tickets_) {
    try {
      if (!store->impl_->staged_) store->impl_->staged_.emplace(store->impl_->db_);
      if (!store->impl_->tickets_) store->impl_->tickets_.emplace(store->impl_->db_);
    } catch (const SQLite::Exception& e) {
      // The table was made by this build's upgrade just now: not expected.
      return {nullptr, describe(path) + " could not be upgraded (" + e.what() + ")"};
    }
  }
  return {std::move(store), ""};
}

sqlite_store::sqlite_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

sqlite_store::~sqlite_store() = default;

const std::string& sqlite_store::path() const { return impl_->path_; }

storage_snapshot sqlite_store::load() {
  storage_snapshot snapshot;
  // Named in the error, so that the message says how far reading got.
  const char* reading = "accounts";
  try {
    {
      statement_use use(impl_->select_accounts_);
      auto& select = impl_->select_accounts_;
      while (select.executeStep()) {
        account_record account;
        account.name = select.getColumn(0).getString();
        account.password_hash = select.getColumn(1).getString();
        account.failed_attempts = select.getColumn(2).getInt();
        account.locked_until = from_unix_ms(select.getColumn(3).getInt64());
        if (!select.getColumn(4).isNull()) {
          account.last_logout = from_unix_ms(select.getColumn(4).getInt64());
        }
        snapshot.accounts.push_back(std::move(account));
      }
    }
    reading = "blocks";
    {
      statement_use use(impl_->select_blocks_);
      auto& select = impl_->select_blocks_;
      while (select.executeStep()) {
        snapshot.blocks.push_back(
            {select.getColumn(0).getString(), select.getColumn(1).getString()});
      }
    }
    reading = "offline messages";
    // A version 1 file (not yet upgraded: load() comes first) has no staged messages.
    SQLite::Statement select(
        impl_->db_, impl_->db_.tableExists("offline_staged")
                        ? "SELECT recipient, count(*) FROM (SELECT recipient FROM offline_messages"
                          " UNION ALL SELECT recipient FROM offline_staged) GROUP BY recipient"
                        : "SELECT recipient, count(*) FROM offline_messages GROUP BY recipient");
    while (select.executeStep()) {
      snapshot.mailboxes.emplace_back(select.getColumn(0).getString(),
                                      static_cast<std::size_t>(select.getColumn(1).getInt64()));
    }
    reading = "resume tickets";
    if (impl_->db_.tableExists("resume_tickets")) {
      SQLite::Statement tickets(
          impl_->db_, "SELECT name, digest, issued_at, ended_at FROM resume_tickets ORDER BY name");
      while (tickets.executeStep()) {
        ticket_record record;
        record.name = tickets.getColumn(0).getString();
        const auto digest = tickets.getColumn(1);
        // The table's CHECK holds the length; a hand-edited row that breaks it is left out.
        if (!digest.isBlob() || static_cast<std::size_t>(digest.getBytes()) != record.digest.size())
          continue;
        std::memcpy(record.digest.data(), digest.getBlob(), record.digest.size());
        record.issued_at = from_unix_ms(tickets.getColumn(2).getInt64());
        if (!tickets.getColumn(3).isNull())
          record.ended_at = from_unix_ms(tickets.getColumn(3).getInt64());
        snapshot.tickets.push_back(std::move(record));
      }
    }
  } catch (const SQLite::Exception& e) {
    // Nothing half-read, and no empty state either: starting with no accounts would make every
    // known user look new.
    throw storage_error(describe(impl_->path_) + " cannot be loaded: reading its " + reading +
                        " failed: " + e.what());
  }
  return snapshot;
}

bool sqlite_store::add_account(const std::string& name, const std::string& password_hash,
                               time_point now) {
  return impl_->write(
      impl_->insert_account_,
      [&](SQLite::Statement& s) {
        s.bind(":name", name);
        s.bind(":password_hash", password_hash);
        s.bind(":created_at", to_unix_ms(now));
      },
      true, [&] { return "store the new account " + name; });
}

bool sqlite_store::set_password_hash(const std::string& name, const std::string& password_hash) {
  return impl_->write(
      impl_->update_password_hash_,
      [&](SQLite::Statement& s) {
        s.bind(":password_hash", password_hash);
        s.bind(":name", name);
      },
      true, [&] { return "store the new password hash of " + name; });
}

bool sqlite_store::set_lockout(const std::string& name, int failed_attempts,
                               time_point locked_until) {
  return impl_->write(
      impl_->update_lockout_,
      [&](SQLite::Statement& s) {
        s.bind(":failed_attempts", failed_attempts);
        s.bind(":locked_until", to_unix_ms(locked_until));
        s.bind(":name", name);
      },
      true, [&] { return "store the failed attempts and lockout of " + name; });
}

bool sqlite_store::add_block(const std::string& blocker, const std::string& blocked) {
  return impl_->write(
      impl_->insert_block_,
      [&](SQLite::Statement& s) {
        s.bind(":blocker", blocker);
        s.bind(":blocked", blocked);
      },
      false, [&] { return "store that " + blocker + " blocks " + blocked; });
}

bool sqlite_store::remove_block(const std::string& blocker, const std::string& blocked) {
  return impl_->write(
      impl_->delete_block_,
      [&](SQLite::Statement& s) {
        s.bind(":blocker", blocker);
        s.bind(":blocked", blocked);
      },
      false, [&] { return "remove the block of " + blocked + " by " + blocker; });
}

bool sqlite_store::store_offline(const std::string& recipient, const std::string& sender,
                                 const std::string& text, time_point now) {
  // Outside a transaction the INSERT is its own, committed (and fsynced) before exec() returns.
  auto& staged = *impl_->staged_;
  const bool stored = impl_->write(
      staged.insert,
      [&](SQLite::Statement& s) {
        s.bind(":recipient", recipient);
        s.bind(":sender", sender);
        s.bind(":body", text);
        s.bind(":sent_at", to_unix_ms(now));
      },
      true, [&] { return "store an offline message for " + recipient; });
  // The message is stored either way: a move that fails is tried again at the next one.
  if (stored && ++staged.rows >= staged_flush_rows) impl_->flush_staged();
  return stored;
}

std::size_t sqlite_store::count_offline(const std::string& recipient) {
  try {
    auto& count = impl_->staged_->count;
    statement_use use(count);
    count.bind(":recipient", recipient);
    if (!count.executeStep()) return 0;
    return static_cast<std::size_t>(count.getColumn(0).getInt64());
  } catch (const SQLite::Exception& e) {
    impl_->log_failure("count the offline messages of " + recipient, e.what());
    return 0;
  }
}

std::optional<offline_page> sqlite_store::read_offline(const std::string& recipient,
                                                       std::int64_t after, std::size_t max_rows,
                                                       std::size_t max_bytes) {
  offline_page page;
  // Every message stored so far is read from offline_messages.
  if (!impl_->flush_staged()) return std::nullopt;
  try {
    statement_use use(impl_->select_offline_);
    auto& select = impl_->select_offline_;
    select.bind(":recipient", recipient);
    select.bind(":after", after);
    // One row more than asked for says whether any remain.
    select.bind(":max_rows", static_cast<std::int64_t>(max_rows) + 1);
    std::size_t bytes = 0;
    while (select.executeStep()) {
      const auto body = select.getColumn(2);
      bytes += static_cast<std::size_t>(body.getBytes());
      if (page.rows.size() == max_rows || (!page.rows.empty() && bytes > max_bytes)) {
        page.more = true;
        break;
      }
      offline_record record;
      record.id = select.getColumn(0).getInt64();
      record.sender = select.getColumn(1).getString();
      record.text = body.getString();
      record.sent_at = from_unix_ms(select.getColumn(3).getInt64());
      page.rows.push_back(std::move(record));
    }
  } catch (const SQLite::Exception& e) {
    impl_->log_failure("read the offline messages of " + recipient, e.what());
    return std::nullopt;
  }
  return page;
}

std::optional<std::size_t> sqlite_store::delete_offline(const std::string& recipient,
                                                        std::int64_t up_to) {
  // What a recipient confirms it was sent, so read: none of it is still staged.
  try {
    statement_use use(impl_->delete_offline_);
    impl_->delete_offline_.bind(":recipient", recipient);
    impl_->delete_offline_.bind(":last_id", up_to);
    return static_cast<std::size_t>(impl_->delete_offline_.exec());
  } catch (const SQLite::Exception& e) {
    impl_->log_failure("delete the confirmed offline messages of " + recipient, e.what());
    return std::nullopt;
  }
}

bool sqlite_store::begin_batch() {
  try {
    // IMMEDIATE takes the write lock at once, so a batch never fails half-way for want of it.
    impl_->db_.exec("BEGIN IMMEDIATE");
    return true;
  } catch (const SQLite::Exception& e) {
    impl_->log_failure("begin a transaction", e.what());
    return false;
  }
}

bool sqlite_store::in_batch() const { return sqlite3_get_autocommit(impl_->db_.getHandle()) == 0; }

bool sqlite_store::commit_batch() {
  try {
    impl_->db_.exec("COMMIT");
    return true;
  } catch (const SQLite::Exception& e) {
    impl_->log_failure("commit a transaction", e.what());
    // A COMMIT that failed may leave the transaction open (SQLITE_BUSY): end it, so the next
    // batch starts clean and this one is known to be lost.
    if (in_batch()) {
      try {
        impl_->db_.exec("ROLLBACK");
      } catch (const SQLite::Exception& rollback) {
        impl_->log_failure("roll back a failed transaction", rollback.what());
      }
    }
    return false;
  }
}

bool sqlite_store::record_login(const std::string& name, time_point now) {
  return impl_->write(
      impl_->insert_login_,
      [&](SQLite::Statement& s) {
        s.bind(":name", name);
        s.bind(":login_at", to_unix_ms(now));
      },
      true, [&] { return "record the login of " + name; });
}

bool sqlite_store::record_logout(const std::string& name, time_point now) {
  // No open session (its login row could not be written) leaves nothing to close: not a failure.
  return impl_->write(
      impl_->close_login_,
      [&](SQLite::Statement& s) {
        s.bind(":logout_at", to_unix_ms(now));
        s.bind(":name", name);
      },
      false, [&] { return "record the logout of " + name; });
}

void sqlite_store::close_dangling_logins(time_point now) {
  // Prepared once the file has schema version 3, which open() makes sure of.
  if (!impl_->tickets_) return;
  impl_->write(
      impl_->tickets_->close_open_logins,
      [&](SQLite::Statement& s) { s.bind(":logout_at", to_unix_ms(now)); }, false,
      [] { return std::string("close the sessions a crash left open"); });
}

bool sqlite_store::issue_ticket(const std::string& name, const ticket_digest& digest,
                                time_point now) {
  if (!impl_->tickets_) return false;
  return impl_->write(
      impl_->tickets_->issue,
      [&](SQLite::Statement& s) {
        s.bind(":name", name);
        s.bind(":digest", digest.data(), static_cast<int>(digest.size()));
        s.bind(":now", to_unix_ms(now));
      },
      true, [&] { return "store the resume ticket of " + name; });
}

bool sqlite_store::end_ticket(const std::string& name, time_point now) {
  if (!impl_->tickets_) return false;
  return impl_->write(
      impl_->tickets_->end,
      [&](SQLite::Statement& s) {
        s.bind(":now", to_unix_ms(now));
        s.bind(":name", name);
      },
      false, [&] { return "end the session of the resume ticket of " + name; });
}

bool sqlite_store::revoke_ticket(const std::string& name) {
  if (!impl_->tickets_) return false;
  return impl_->write(
      impl_->tickets_->revoke, [&](SQLite::Statement& s) { s.bind(":name", name); }, false,
      [&] { return "revoke the resume ticket of " + name; });
}

}  // namespace parley::registry
