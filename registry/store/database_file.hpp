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

// The read-write connection to `path`, after the checks sqlite_store::open() documents.
// `busy_timeout` is how long each statement waits for a lock another connection holds.
opened_database open_database(const std::string& path, std::chrono::milliseconds busy_timeout);

}  // namespace parley::registry::store_detail
