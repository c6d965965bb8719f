#include "registry/store/database_file.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace parley::registry::store_detail {
namespace {

// Stamped into the file header so that we recognise our own databases: "PRLY".
constexpr std::int32_t parley_application_id = 0x50524C59;
// PRAGMA user_version of the schema below; a file with a higher one was written by a newer build.
// Version 1 (before offline_staged) and 2 (before resume_tickets) are read as they are and
// upgraded once they have been loaded.
constexpr int schema_version = 3;
constexpr int oldest_schema_version = 1;

constexpr std::array<const char*, 4> parley_tables = {"accounts", "blocks", "offline_messages",
                                                      "logins"};
// Since schema version 2.
constexpr const char* staged_table = "offline_staged";
// Since schema version 3.
constexpr const char* tickets_table = "resume_tickets";

// Times are unix milliseconds. Names compare byte for byte (BINARY collation): they are
// case-sensitive. Accounts are never deleted, so the foreign keys need no index on the child side.
// An offline message is written to offline_staged, which has no index but its rowid, so a flood
// of them appends to a few pages per commit; the store moves the staged rows, ids kept, into
// offline_messages (indexed by recipient) in one statement every 32,768 rows and before any
// read of a mailbox (sqlite_store). Message ids come from offline_staged's AUTOINCREMENT
// only, so they are never reused and grow in the order the messages were stored, and every id
// in offline_messages is below every staged one: "returned at most once" can be reasoned about
// by id.
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
// Schema version 2 (a version 1 file gets it at its upgrade).
constexpr const char* staged_table_sql = R"sql(
CREATE TABLE offline_staged (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT    NOT NULL REFERENCES accounts(name),
  sender    TEXT    NOT NULL REFERENCES accounts(name),
  body      TEXT    NOT NULL,
  sent_at   INTEGER NOT NULL
);
)sql";

// Schema version 3 (older files get it at their upgrade): SPEC 11's resume tickets, one per
// account, as digests (registry/auth/resume_ticket). ended_at NULL: the session had not ended
// when the row was written, so it is restored, waiting for its resume, at the next start.
constexpr const char* tickets_table_sql = R"sql(
CREATE TABLE resume_tickets (
  name      TEXT    NOT NULL PRIMARY KEY REFERENCES accounts(name),
  digest    BLOB    NOT NULL CHECK (length(digest) = 32),
  issued_at INTEGER NOT NULL,
  ended_at  INTEGER
) WITHOUT ROWID;
)sql";

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

// Why this process may not write `path` (or, for a folder, create and remove files in it): the
// system's text (Permission denied, Operation not permitted for an immutable file, Read-only file
// system); empty when it may. access() only asks: it changes nothing.
std::string write_denied(const std::filesystem::path& path) {
  if (::access(path.c_str(), W_OK) == 0) return {};
  return std::strerror(errno);
}

std::filesystem::path folder_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// A file refused after the read-write open: the text follows the file's name.
class refusal : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a failure of the read-write connection means, naming what the system would not let us
// write when that was the cause (SQLite only says "unable to open database file" or "attempt to
// write a readonly database"): the database itself, or its folder, where SQLite creates the
// -wal and -shm files of WAL mode (and a new database). SQLite's own text comes last.
std::string describe_write_failure(const SQLite::Exception& e, const std::string& path,
                                   bool creating) {
  const int code = primary_code(e);
  if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM ||
      code == SQLITE_AUTH || code == SQLITE_IOERR) {
    const char* verb = creating ? "cannot be created: " : "cannot be written: ";
    if (!creating) {
      if (const auto why = write_denied(path); !why.empty())
        return verb + std::string("the file is read-only (") + why + "; SQLite: " + e.what() + ")";
    }
    const auto folder = folder_of(path);
    if (const auto why = write_denied(folder); !why.empty()) {
      return verb + std::string("its folder \"") + folder.string() + "\" is read-only (" + why +
             (creating ? "" : "; SQLite must create its -wal and -shm files there") +
             "; SQLite: " + e.what() + ")";
    }
  }
  return describe_failure(e, creating ? "cannot be created" : "cannot be opened");
}

// SQLite opens a file it may not write (read-only mode bits, an immutable file, a read-only
// mount) for reading only, without a word; every write would then fail at run time. This is
// checked right after the open, before the first read, which could create -wal and -shm files
// beside the database. Then the write lock is taken and given back: that opens (creating them
// if need be) the -wal and -shm files, so it fails in a folder where they cannot be created, on
// a -wal or -shm file this process may not write, and while another process holds the lock
// past the busy timeout. BEGIN IMMEDIATE and ROLLBACK write nothing. Throws refusal, or
// SQLite::Exception for describe_write_failure.
void require_writable(SQLite::Database& db, const std::string& path) {
  if (path == memory_path) return;
  if (sqlite3_db_readonly(db.getHandle(), "main") == 1) {
    auto why = write_denied(path);
    if (why.empty()) why = "SQLite could open it for reading only";
    throw refusal("cannot be written: the file is read-only (" + why +
                  "; SQLite: " + sqlite3_errstr(SQLITE_READONLY) + ")");
  }
  db.exec("BEGIN IMMEDIATE");
  db.exec("ROLLBACK");
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
SQLite::Database open_read_only(const std::string& path, int busy_timeout_ms) {
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
inspection inspect_existing(const std::string& path, int busy_timeout_ms) {
  try {
    SQLite::Database db = open_read_only(path, busy_timeout_ms);
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
    if (version < oldest_schema_version) {
      return {"has an unknown schema version " + std::to_string(version)};
    }
    for (const char* table : parley_tables) {
      if (!db.tableExists(table)) return {std::string("is missing its table \"") + table + "\""};
    }
    if (version >= 2 && !db.tableExists(staged_table))
      return {std::string("is missing its table \"") + staged_table + "\""};
    // Its upgrade makes the table: one already there is not the version 1 schema.
    if (version == 1 && db.tableExists(staged_table))
      return {std::string("has a table \"") + staged_table +
              "\" its schema version 1 does not have"};
    if (version >= 3 && !db.tableExists(tickets_table))
      return {std::string("is missing its table \"") + tickets_table + "\""};
    if (version <= 2 && db.tableExists(tickets_table))
      return {std::string("has a table \"") + tickets_table + "\" its schema version " +
              std::to_string(version) + " does not have"};
    return {};
  } catch (const SQLite::Exception& e) {
    return {describe_failure(e, "cannot be read")};
  }
}

// Version 1 to 2: the staging table, its ids continuing from the highest offline message id
// ever given (AUTOINCREMENT's own record of it, or the highest present), in one transaction.
// Version 2 to 3: the resume tickets' table. Both steps in one transaction.
void upgrade_schema(SQLite::Database& db, const std::string& path) {
  const int from = db.execAndGet("PRAGMA user_version").getInt();
  if (from >= schema_version) return;
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  if (from == 1) {
    db.exec(staged_table_sql);
    db.exec(R"sql(
INSERT INTO sqlite_sequence (name, seq) SELECT 'offline_staged', max(
  coalesce((SELECT max(id) FROM offline_messages), 0),
  coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'offline_messages'), 0));
)sql");
  }
  db.exec(tickets_table_sql);
  db.exec("PRAGMA user_version = " + std::to_string(schema_version));
  transaction.commit();
  spdlog::info("upgraded {} from schema version {} to {} ({})", describe(path), from,
               schema_version,
               from == 1 ? "offline messages are staged, sessions can be resumed"
                         : "sessions can be resumed");
}

// Opens the read-write connection, proves that it can write, and creates the schema when asked
// (a new file, or a blank SQLite database: nobody else's data). Nothing else is written here.
// Throws refusal or SQLite::Exception; open_database() turns either into an error.
SQLite::Database open_connection(const std::string& path, int flags, bool create_schema,
                                 int busy_timeout_ms) {
  SQLite::Database db(path, flags, busy_timeout_ms);
  require_writable(db, path);
  // Off by default in SQLite, per connection: without it the REFERENCES clauses are decoration.
  db.exec("PRAGMA foreign_keys = ON");
  // Statement journals (a statement that changes many rows keeps the pages it changes until it
  // completes, to undo it alone) in memory, not in a temporary file created, written, read and
  // deleted for every move of the staged offline messages; and a page cache (16 MiB, SQLite's
  // default is 2 MiB) that holds the index pages a move changes, so that it reads none of them
  // back from the file. Both are per connection; the cache grows only as pages are used.
  db.exec("PRAGMA temp_store = MEMORY");
  db.exec("PRAGMA cache_size = -16384");

  if (create_schema) {
    // Schema, application id and version in one transaction: a crash leaves the file as it was
    // (empty, or a blank SQLite database) or a complete Parley database, nothing in between.
    SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
    db.exec(schema_sql);
    db.exec(staged_table_sql);
    db.exec(tickets_table_sql);
    db.exec("PRAGMA application_id = " + std::to_string(parley_application_id));
    db.exec("PRAGMA user_version = " + std::to_string(schema_version));
    transaction.commit();
  }
  return db;
}

// SQLite takes the busy timeout as an int of milliseconds: a longer one is cut to the longest it
// can take, a negative one means no waiting.
int to_busy_timeout_ms(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INT_MAX));
}

}  // namespace

std::string describe(const std::string& path) { return "database \"" + path + "\""; }

opened_database open_database(const std::string& path, std::chrono::milliseconds busy_timeout) {
  const int busy_timeout_ms = to_busy_timeout_ms(busy_timeout);
  // Whether the file is new: a failure then means it could not be created.
  bool creating = true;
  try {
    if (path.empty()) return {std::nullopt, "database path is empty"};
    if (path == memory_path) {
      return {open_connection(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, true,
                              busy_timeout_ms),
              ""};
    }

    namespace fs = std::filesystem;
    creating = false;
    std::error_code ec;
    const auto status = fs::status(path, ec);
    int flags = SQLite::OPEN_READWRITE;
    bool create_schema = false;

    if (status.type() == fs::file_type::not_found) {
      const auto parent = fs::path(path).parent_path();
      if (!parent.empty() && !fs::is_directory(parent, ec)) {
        return {std::nullopt, describe(path) + " cannot be created: directory \"" +
                                  parent.string() + "\" does not exist"};
      }
      flags |= SQLite::OPEN_CREATE;
      create_schema = true;
      creating = true;
    } else if (ec) {
      return {std::nullopt, describe(path) + " cannot be examined (" + ec.message() + ")"};
    } else if (status.type() != fs::file_type::regular) {
      return {std::nullopt, describe(path) + " is not a regular file"};
    } else {
      // SQLite would happily treat an empty file as a new database, but we did not create it:
      // better to ask than to write into a file someone meant for something else.
      const auto size = fs::file_size(path, ec);
      if (ec) return {std::nullopt, describe(path) + " cannot be examined (" + ec.message() + ")"};
      if (size == 0) {
        return {std::nullopt,
                describe(path) +
                    " is empty (refusing to write into a file that Parley did not create;"
                    " remove it to start with a new database)"};
      }
      auto found = inspect_existing(path, busy_timeout_ms);
      if (!found.problem.empty()) return {std::nullopt, describe(path) + " " + found.problem};
      create_schema = found.needs_schema;
    }

    return {open_connection(path, flags, create_schema, busy_timeout_ms), ""};
  } catch (const refusal& e) {
    return {std::nullopt, describe(path) + " " + e.what()};
  } catch (const SQLite::Exception& e) {
    return {std::nullopt, describe(path) + " " + describe_write_failure(e, path, creating)};
  } catch (const std::exception& e) {
    return {std::nullopt, describe(path) + " cannot be opened (" + e.what() + ")"};
  }
}

std::string start_writing(SQLite::Database& db, const std::string& path) {
  // First, so that an upgrade that fails (its transaction rolled back) leaves the file as it was.
  try {
    upgrade_schema(db, path);
  } catch (const SQLite::Exception& e) {
    return describe(path) + " could not be upgraded to schema version " +
           std::to_string(schema_version) + ", and is unchanged (" + e.what() + ")";
  }
  try {
    // WAL: readers never block the writer, and a commit appends to the log instead of rewriting
    // pages in place. The mode is stored in the file (this write changes its header once, in a
    // file that was in another mode), so it is a no-op after the first run.
    const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal" && path != memory_path)
      return describe(path) + " cannot switch to WAL journal mode (got \"" + mode + "\")";
    // FULL: every commit is fsynced before it returns, so an acknowledged offline message also
    // survives a power loss, not just a crash of the process (which NORMAL already covers in WAL
    // mode). Our writes come at human typing rates; one fsync per commit (0.2 ms measured on an
    // SSD, a few ms on a spinning disk) is a cost nobody notices at that rate.
    db.exec("PRAGMA synchronous = FULL");
    // Checkpoints copy the log into the file every 10,000 pages (40 MiB) instead of SQLite's
    // 1,000: a page written by many commits (the staging table's last one, the index pages of
    // a move) is copied once per checkpoint, so fewer, larger ones write far less. Measured on
    // the offline flood with moves of 16,384 rows (docs/BENCHMARKS.md): 1.9 KiB written per
    // message at 1,000, 1.4 at 10,000. The log file keeps its largest size (40 MiB and some) once
    // it has grown to it.
    db.exec("PRAGMA wal_autocheckpoint = 10000");
    return {};
  } catch (const SQLite::Exception& e) {
    return describe(path) + " " + describe_write_failure(e, path, false);
  }
}

}  // namespace parley::registry::store_detail
