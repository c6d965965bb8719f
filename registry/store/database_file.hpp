// Opening a database file for the store: the read-only look that refuses whatever is not a
// Parley database, the schema of a new one, and the pragmas of the read-write connection.
// Internal to registry/store/ (it hands out an SQLiteCpp connection).
#pragma once

#include <SQLiteCpp/Database.h>

#include <chrono>
#include <optional>
#include <string>

namespace parley::registry::store_detail {

inline constexpr const char* memory_path = ":memory:";

// How a database file is named in every message: `database "<path>"`.
std::string describe(const std::string& path);

struct opened_database {
  std::optional<SQLite::Database> db;  // set on success: read-write, schema in place
  std::string error;                   // else: names the file and the problem
};

// The read-write connection to `path`, after the checks sqlite_store::open() documents: a
// file this process could not write is refused too. The schema is in place (created in a new
// file or a blank SQLite database); nothing in any other file has been written yet.
// `busy_timeout` is how long each statement waits for a lock another connection holds.
opened_database open_database(const std::string& path, std::chrono::milliseconds busy_timeout);

// The connection's first writes to an existing file: the upgrade of a schema version 1 file
// (one transaction: refused, the file is unchanged), WAL journal mode (stored in the file's
// header), synchronous = FULL and the checkpoint interval. Called once the store has checked all it
// will read (its statements are prepared), so that a file refused before then is left byte-for-byte
// as it was. Empty on success, else the error (naming the file).
std::string start_writing(SQLite::Database& db, const std::string& path);

}  // namespace parley::registry::store_detail
