#include "registry/store/sqlite_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

namespace parley::registry {
namespace {

// Stamped into the file header so that we recognise our own databases: "PRLY".
constexpr std::int32_t parley_application_id = 0x50524C59;
// PRAGMA user_version of the schema below; a file with a higher one was written by a newer build.
constexpr int schema_version = 1;
// How long a statement waits for a lock held by another connection (an operator's sqlite3
// shell, say) before it fails.
constexpr int busy_timeout_ms = 5000;
constexpr const char* memory_path = ":memory:";

constexpr std::array<const char*, 4> parley_tables = {"accounts", "blocks", "offline_messages",
                                                      "logins"};

// Times are unix milliseconds. Names compare byte for byte (BINARY collation): they are
// case-sensitive. Accounts are never deleted, so the foreign keys need no index on the child side.
// AUTOINCREMENT keeps offline message ids from ever being reused, so "returned at most once" can
// be reasoned about by id.
constexpr const char* schema_sql = R"sql(
CREATE TABLE accounts (
  name            TEXT    NOT NULL PRIMARY KEY,
  password_hash   TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE blocks (
  blocker TEXT NOT NULL REFERENCES accounts(name),
  blocked TEXT NOT NULL REFERENCES accounts(name),
  PRIMARY KEY (blocker, blocked),
  CHECK (blocker <> blocked)
) WITHOUT ROWID;
CREATE TABLE offline_messages (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT    NOT NULL REFERENCES accounts(name),
  sender    TEXT    NOT NULL REFERENCES accounts(name),
  body      TEXT    NOT NULL,
  sent_at   INTEGER NOT NULL
);
CREATE INDEX offline_messages_by_recipient ON offline_messages(recipient, id);
CREATE TABLE logins (
  id        INTEGER PRIMARY KEY,
  name      TEXT    NOT NULL REFERENCES accounts(name),
  login_at  INTEGER NOT NULL,
  logout_at INTEGER
);
CREATE INDEX logins_by_name ON logins(name, logout_at);
)sql";

std::string describe(const std::string& path) { return "database \"" + path + "\""; }

std::string hex(std::int32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", static_cast<std::uint32_t>(value));
  return buffer;
}

// quick_check's report as one log line, without its "*** in database main ***" heading.
std::string one_line(std::string report) {
  constexpr std::string_view heading = "*** in database main ***\n";
  if (report.starts_with(heading)) report.erase(0, heading.size());
  for (auto& c : report) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return report;
}

// SQLite's primary result code: SQLiteCpp may hand back an extended one.
int primary_code(const SQLite::Exception& e) { return e.getErrorCode() & 0xff; }

std::string describe_failure(const SQLite::Exception& e, const char* doing) {
  switch (primary_code(e)) {
    case SQLITE_NOTADB: return "is not a SQLite database";
    case SQLITE_CORRUPT: return std::string("is corrupt (") + e.what() + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "is locked by another process";
    case SQLITE_READONLY: return std::string("is read-only (") + e.what() + ")";
    case SQLITE_FULL: return "cannot be written: the disk is full";
    default: return std::string(doing) + " (" + e.what() + ")";
  }
}

// What the read-only look at an existing file found.
struct inspection {
  std::string problem;        // empty when the file may be opened read-write
  bool needs_schema = false;  // a blank SQLite database nobody has claimed yet
};

// An SQLite URI naming `path` (only '%', '?' and '#' need escaping there); an absolute path gets
// an empty authority, so that a path starting with "//" is not read as a host name.
std::string file_uri(const std::string& path) {
  std::string uri = path.starts_with('/') ? "file://" : "file:";
  for (char c : path) {
    if (c == '%')
      uri += "%25";
    else if (c == '?')
      uri += "%3f";
    else if (c == '#')
      uri += "%23";
    else
      uri += c;
  }
  return uri;
}

// Opens `path` for reading only. Without a write-ahead log beside it, the file holds the whole
// database, and "immutable" reads it with no locks and no -shm/-wal files created next to it:
// a refused file (another application's, say) is left without litter. A non-empty log (a
// crash, or a live writer) has to be read through SQLite's usual shared-memory index.
SQLite::Database open_read_only(const std::string& path) {
  std::error_code ec;
  const auto wal_size = std::filesystem::file_size(path + "-wal", ec);
  if (ec || wal_size == 0) {
    return SQLite::Database(file_uri(path) + "?immutable=1",
                            SQLite::OPEN_READONLY | SQLite::OPEN_URI);
  }
  return SQLite::Database(path, SQLite::OPEN_READONLY, busy_timeout_ms);
}

// Looks at an existing file without any chance of changing it: a read-only connection writes
// neither the file nor its header, whatever it finds.
inspection inspect_existing(const std::string& path) {
  try {
    SQLite::Database db = open_read_only(path);
    // The first read of the header is where a foreign file shows up, as SQLITE_NOTADB.
    const std::string check = db.execAndGet("PRAGMA quick_check(1)").getString();
    if (check != "ok") return {"is corrupt (quick_check: " + one_line(check) + ")"};

    const int application_id = db.execAndGet("PRAGMA application_id").getInt();
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    const int tables =
        db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").getInt();

    if (application_id == 0 && tables == 0 && version == 0) return {"", true};
    if (application_id != parley_application_id) {
      if (application_id == 0)
        return {"belongs to another application (it is not a Parley database)"};
      return {"belongs to another application (application_id " + hex(application_id) + ")"};
    }
    if (version > schema_version) {
      return {"was written by a newer Parley (schema version " + std::to_string(version) +
              ", this build reads up to " + std::to_string(schema_version) + ")"};
    }
    if (version < schema_version) {
      return {"has an unknown schema version " + std::to_string(version)};
    }
    for (const char* table : parley_tables) {
      if (!db.tableExists(table)) return {std::string("is missing its table \"") + table + "\""};
    }
    return {};
  } catch (const SQLite::Exception& e) {
    return {describe_failure(e, "cannot be read")};
  }
}

// Opens the read-write connection, creates the schema when asked, and sets the pragmas every
// connection needs. Throws SQLite::Exception; open() turns that into an error.
SQLite::Database open_connection(const std::string& path, int flags, bool create_schema) {
  SQLite::Database db(path, flags, busy_timeout_ms);
  // Off by default in SQLite, per connection: without it the REFERENCES clauses are decoration.
  db.exec("PRAGMA foreign_keys = ON");

  if (create_schema) {
    // Schema, application id and version in one transaction: a crash leaves the file as it was
    // (empty, or a blank SQLite database) or a complete Parley database, nothing in between.
    SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
    db.exec(schema_sql);
    db.exec("PRAGMA application_id = " + std::to_string(parley_application_id));
    db.exec("PRAGMA user_version = " + std::to_string(schema_version));
    transaction.commit();
  }

  // WAL: readers never block the writer, and a commit appends to the log instead of rewriting
  // pages in place. The mode is stored in the file, so this is a no-op after the first run.
  const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
  if (mode != "wal" && path != memory_path) {
    throw SQLite::Exception("cannot switch to WAL journal mode (got \"" + mode + "\")");
  }
  // FULL: every commit is fsynced before it returns, so an acknowledged offline message also
  // survives a power loss, not just a crash of the process (which NORMAL already covers in WAL
  // mode). Our writes come at human typing rates; one fsync per commit (0.2 ms measured on an
  // SSD, a few ms on a spinning disk) is a cost nobody notices at that rate.
  db.exec("PRAGMA synchronous = FULL");
  return db;
}

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
    } catch (const SQLite::Exception&) {
      // sqlite3_clear_bindings cannot fail on a prepared statement; nothing to recover.
    }
  }

 private:
  SQLite::Statement& statement_;
};

}  // namespace

// Not thread-safe: one connection, used by the registry's io thread only.
struct sqlite_store::impl {
  impl(std::string path, int flags, bool create_schema)
      : path_(std::move(path)),
        db_(open_connection(path_, flags, create_schema)),
        select_accounts_(db_,
                         "SELECT name, password_hash, failed_attempts, locked_until,"
                         " (SELECT max(logout_at) FROM logins WHERE logins.name = accounts.name)"
                         " FROM accounts ORDER BY name"),
        select_blocks_(db_, "SELECT blocker, blocked FROM blocks ORDER BY blocker, blocked"),
        insert_account_(db_,
                        "INSERT INTO accounts (name, password_hash, created_at) VALUES (?, ?, ?)"),
        update_password_hash_(db_, "UPDATE accounts SET password_hash = ? WHERE name = ?"),
        update_lockout_(db_,
                        "UPDATE accounts SET failed_attempts = ?, locked_until = ? WHERE name = ?"),
        // Blocking twice leaves one row: the caller asked for a state, and it holds.
        insert_block_(db_,
                      "INSERT INTO blocks (blocker, blocked) VALUES (?, ?)"
                      " ON CONFLICT (blocker, blocked) DO NOTHING"),
        delete_block_(db_, "DELETE FROM blocks WHERE blocker = ? AND blocked = ?"),
        insert_offline_(db_,
                        "INSERT INTO offline_messages (recipient, sender, body, sent_at)"
                        " VALUES (?, ?, ?, ?)"),
        count_offline_(db_, "SELECT count(*) FROM offline_messages WHERE recipient = ?"),
        select_offline_(db_,
                        "SELECT id, sender, body, sent_at FROM offline_messages"
                        " WHERE recipient = ? ORDER BY id"),
        delete_offline_(db_, "DELETE FROM offline_messages WHERE recipient = ? AND id <= ?"),
        insert_login_(db_, "INSERT INTO logins (name, login_at) VALUES (?, ?)"),
        close_login_(db_,
                     "UPDATE logins SET logout_at = ? WHERE id ="
                     " (SELECT max(id) FROM logins WHERE name = ? AND logout_at IS NULL)"),
        close_open_logins_(db_, "UPDATE logins SET logout_at = ? WHERE logout_at IS NULL") {}

  // Runs a one-step write; false (and nothing changed) if SQLite refused it. With
  // `must_change_a_row`, a statement that matched no row counts as a failure too.
  template <typename Bind>
  bool write(SQLite::Statement& statement, Bind&& bind, bool must_change_a_row) {
    try {
      statement_use use(statement);
      bind(statement);
      const int changed = statement.exec();
      return !must_change_a_row || changed > 0;
    } catch (const SQLite::Exception&) {
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
  SQLite::Statement insert_offline_;
  SQLite::Statement count_offline_;
  SQLite::Statement select_offline_;
  SQLite::Statement delete_offline_;
  SQLite::Statement insert_login_;
  SQLite::Statement close_login_;
  SQLite::Statement close_open_logins_;
};

store_open_result sqlite_store::open(const std::string& path) {
  try {
    if (path.empty()) return {nullptr, "database path is empty"};
    if (path == memory_path) {
      auto state = std::make_unique<impl>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, true);
      return {std::make_unique<sqlite_store>(std::move(state)), ""};
    }

    namespace fs = std::filesystem;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    int flags = SQLite::OPEN_READWRITE;
    bool create_schema = false;

    if (status.type() == fs::file_type::not_found) {
      const auto parent = fs::path(path).parent_path();
      if (!parent.empty() && !fs::is_directory(parent, ec)) {
        return {nullptr, describe(path) + " cannot be created: directory \"" + parent.string() +
                             "\" does not exist"};
      }
      flags |= SQLite::OPEN_CREATE;
      create_schema = true;
    } else if (ec) {
      return {nullptr, describe(path) + " cannot be examined (" + ec.message() + ")"};
    } else if (status.type() != fs::file_type::regular) {
      return {nullptr, describe(path) + " is not a regular file"};
    } else {
      // SQLite would happily treat an empty file as a new database, but we did not create it:
      // better to ask than to write into a file someone meant for something else.
      const auto size = fs::file_size(path, ec);
      if (ec) return {nullptr, describe(path) + " cannot be examined (" + ec.message() + ")"};
      if (size == 0) {
        return {nullptr, describe(path) +
                             " is empty (refusing to write into a file that Parley did not create;"
                             " remove it to start with a new database)"};
      }
      auto found = inspect_existing(path);
      if (!found.problem.empty()) return {nullptr, describe(path) + " " + found.problem};
      create_schema = found.needs_schema;
    }

    auto state = std::make_unique<impl>(path, flags, create_schema);
    return {std::make_unique<sqlite_store>(std::move(state)), ""};
  } catch (const SQLite::Exception& e) {
    return {nullptr, describe(path) + " " + describe_failure(e, "cannot be opened")};
  } catch (const std::exception& e) {
    return {nullptr, describe(path) + " cannot be opened (" + e.what() + ")"};
  }
}

sqlite_store::sqlite_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

sqlite_store::~sqlite_store() = default;

const std::string& sqlite_store::path() const { return impl_->path_; }

storage_snapshot sqlite_store::load() {
  storage_snapshot snapshot;
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
    statement_use use(impl_->select_blocks_);
    auto& select = impl_->select_blocks_;
    while (select.executeStep()) {
      snapshot.blocks.push_back({select.getColumn(0).getString(), select.getColumn(1).getString()});
    }
  } catch (const SQLite::Exception&) {
    // Nothing half-read: the core starts from an empty state rather than a partial one.
    return {};
  }
  return snapshot;
}

bool sqlite_store::add_account(const std::string& name, const std::string& password_hash,
                               time_point now) {
  return impl_->write(
      impl_->insert_account_,
      [&](SQLite::Statement& s) {
        s.bind(1, name);
        s.bind(2, password_hash);
        s.bind(3, to_unix_ms(now));
      },
      true);
}

bool sqlite_store::set_password_hash(const std::string& name, const std::string& password_hash) {
  return impl_->write(
      impl_->update_password_hash_,
      [&](SQLite::Statement& s) {
        s.bind(1, password_hash);
        s.bind(2, name);
      },
      true);
}

bool sqlite_store::set_lockout(const std::string& name, int failed_attempts,
                               time_point locked_until) {
  return impl_->write(
      impl_->update_lockout_,
      [&](SQLite::Statement& s) {
        s.bind(1, failed_attempts);
        s.bind(2, to_unix_ms(locked_until));
        s.bind(3, name);
      },
      true);
}

bool sqlite_store::add_block(const std::string& blocker, const std::string& blocked) {
  return impl_->write(
      impl_->insert_block_,
      [&](SQLite::Statement& s) {
        s.bind(1, blocker);
        s.bind(2, blocked);
      },
      false);
}

bool sqlite_store::remove_block(const std::string& blocker, const std::string& blocked) {
  return impl_->write(
      impl_->delete_block_,
      [&](SQLite::Statement& s) {
        s.bind(1, blocker);
        s.bind(2, blocked);
      },
      false);
}

bool sqlite_store::store_offline(const std::string& recipient, const std::string& sender,
                                 const std::string& text, time_point now) {
  // Outside a transaction the INSERT is its own, committed (and fsynced) before exec() returns.
  return impl_->write(
      impl_->insert_offline_,
      [&](SQLite::Statement& s) {
        s.bind(1, recipient);
        s.bind(2, sender);
        s.bind(3, text);
        s.bind(4, to_unix_ms(now));
      },
      true);
}

std::size_t sqlite_store::count_offline(const std::string& recipient) {
  try {
    statement_use use(impl_->count_offline_);
    impl_->count_offline_.bind(1, recipient);
    if (!impl_->count_offline_.executeStep()) return 0;
    return static_cast<std::size_t>(impl_->count_offline_.getColumn(0).getInt64());
  } catch (const SQLite::Exception&) {
    return 0;
  }
}

std::vector<offline_record> sqlite_store::take_offline(const std::string& recipient) {
  std::vector<offline_record> taken;
  try {
    // IMMEDIATE takes the write lock before reading, so no other connection can slip a delete
    // (or a read of the same rows) in between: each message is returned exactly once.
    SQLite::Transaction transaction(impl_->db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::int64_t last_id = 0;
    {
      statement_use use(impl_->select_offline_);
      auto& select = impl_->select_offline_;
      select.bind(1, recipient);
      while (select.executeStep()) {
        offline_record record;
        record.id = select.getColumn(0).getInt64();
        record.sender = select.getColumn(1).getString();
        record.text = select.getColumn(2).getString();
        record.sent_at = from_unix_ms(select.getColumn(3).getInt64());
        last_id = record.id;
        taken.push_back(std::move(record));
      }
    }
    if (taken.empty()) return taken;
    {
      statement_use use(impl_->delete_offline_);
      impl_->delete_offline_.bind(1, recipient);
      impl_->delete_offline_.bind(2, last_id);
      impl_->delete_offline_.exec();
    }
    transaction.commit();
  } catch (const SQLite::Exception&) {
    // The transaction rolled back: the messages stay stored and are delivered next time.
    return {};
  }
  return taken;
}

bool sqlite_store::record_login(const std::string& name, time_point now) {
  return impl_->write(
      impl_->insert_login_,
      [&](SQLite::Statement& s) {
        s.bind(1, name);
        s.bind(2, to_unix_ms(now));
      },
      true);
}

bool sqlite_store::record_logout(const std::string& name, time_point now) {
  // No open session (its login row could not be written) leaves nothing to close: not a failure.
  return impl_->write(
      impl_->close_login_,
      [&](SQLite::Statement& s) {
        s.bind(1, to_unix_ms(now));
        s.bind(2, name);
      },
      false);
}

void sqlite_store::close_dangling_logins(time_point now) {
  impl_->write(
      impl_->close_open_logins_, [&](SQLite::Statement& s) { s.bind(1, to_unix_ms(now)); }, false);
}

}  // namespace parley::registry
