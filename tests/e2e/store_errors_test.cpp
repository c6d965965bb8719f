// Store failures speak (SPEC 9), against the real registry: a write the database refuses at run
// time is named to the sender and logged with SQLite's own message, and a database that cannot
// be read at start-up stops the registry with exit code 1, the file and SQLite's text in stderr.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>
// The test's own connection to the registry's database, as an operator's sqlite3 shell would be.
#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace parley::e2e {

namespace {

// SPEC 9: what the sender of a message the registry could not commit sees.
constexpr std::string_view message_not_stored = "Error. The message could not be stored";
// How long the registry's store waits for a lock before a statement fails.
constexpr milliseconds registry_busy_timeout = 5000ms;

// A plain SQLite connection to a file, closed at the end of the scope.
class sql_connection {
 public:
  explicit sql_connection(const std::filesystem::path& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
    // The registry commits on its store worker, a moment after it answers: wait for its lock.
    sqlite3_busy_timeout(db_, 5000);
  }
  sql_connection(const sql_connection&) = delete;
  sql_connection& operator=(const sql_connection&) = delete;
  ~sql_connection() { sqlite3_close(db_); }

  void run(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    INFO(sql << ": " << (error ? error : ""));
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }

  // The first column of the first row of `sql`, as text.
  std::string value(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    const int rc = sqlite3_step(statement);
    const auto* text = rc == SQLITE_ROW ? sqlite3_column_text(statement, 0) : nullptr;
    std::string result = text ? reinterpret_cast<const char*>(text) : "";
    sqlite3_finalize(statement);
    INFO(sql);
    REQUIRE(rc == SQLITE_ROW);
    return result;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Waits until the registry's log holds `text`; false if it did not within the timeout.
bool log_shows(const registry_fixture& registry, const std::string& text,
               milliseconds timeout = default_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (registry.log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    pause(20ms);
  }
  return true;
}

}  // namespace

TEST_CASE(
    "store errors: a message the locked database refuses is named to the sender and "
    "logged with SQLite's text, and messages are stored again once the lock is gone") {
  registry_fixture registry;
  auto yoda = logged_in_peer(registry, "yoda");
  {
    sql_connection holder(registry.database_path());
    // The login's own history row is written by the store worker a moment after the welcome:
    // once it is committed, the lock taken here stands in the way of the message alone.
    CHECK(wait_until([&] {
      return holder.value(
                 "SELECT count(*) FROM logins WHERE name = 'yoda' AND logout_at IS NULL") == "1";
    }));
    holder.run("BEGIN IMMEDIATE");
    yoda->send_line("message luke Lost to the lock");
    // The registry waits out its busy timeout before it gives up.
    yoda->expect_line(message_not_stored, registry_busy_timeout + default_timeout);
    holder.run("ROLLBACK");
  }
  const auto logged = "store: could not store an offline message for luke in database \"" +
                      registry.database_path().string() + "\": database is locked";
  CHECK_MESSAGE(log_shows(registry, logged), registry.log());
  // A message body is never logged.
  CHECK(registry.log().find("Lost to the lock") == std::string::npos);

  CHECK(answer_to(*yoda, "message luke Stored after the lock").empty());
  log_out(*yoda);
  // Only the message that was acknowledged is delivered.
  auto luke = start_scripted_peer(registry, "luke\njedi\nlogout\n");
  CHECK(luke->wait_exit() == 0);
  CHECK(luke->raw_output() == scripted_welcome() + "yoda: Stored after the lock\n");
}

// An index that no longer matches its table: what a damaged disk, or a tool writing pages
// behind SQLite's back, leaves. quick_check (the registry's inspection) does not compare the
// two, so the file is opened; reading the accounts through that index then fails.
TEST_CASE(
    "store errors: a database that passes inspection but cannot be read stops the "
    "registry at start-up with exit 1, the file and SQLite's text in stderr") {
  registry_fixture registry;
  registry.stop();
  const auto db = registry.database_path();

  // In rollback-journal mode the file alone holds the database, pages at fixed offsets.
  std::size_t page_size = 0;
  std::size_t index_page = 0;
  {
    sql_connection c(db);
    REQUIRE(c.value("PRAGMA journal_mode = DELETE") == "delete");
    page_size = std::stoul(c.value("PRAGMA page_size"));
    index_page = std::stoul(
        c.value("SELECT rootpage FROM sqlite_schema WHERE name = 'sqlite_autoindex_accounts_1'"));
  }
  REQUIRE(index_page > 1);
  const auto offset = (index_page - 1) * page_size;
  const auto index_before = read_file(db).substr(offset, page_size);
  REQUIRE(index_before.size() == page_size);
  // The account goes from the table and from its index; the old index page then comes back.
  sql_connection(db).run("DELETE FROM accounts WHERE name = 'hans'");
  auto bytes = read_file(db);
  REQUIRE(bytes.size() >= offset + page_size);
  bytes.replace(offset, page_size, index_before);
  write_file(db, bytes);
  {
    sql_connection c(db);
    REQUIRE(c.value("PRAGMA journal_mode = WAL") == "wal");
    REQUIRE(c.value("PRAGMA quick_check") == "ok");
    REQUIRE(c.value("PRAGMA integrity_check") != "ok");
  }
  const auto damaged = read_file(db);

  launch_options options;
  options.argv = {registry_binary,
                  std::to_string(unused_port()),
                  "10",
                  "30",
                  "--credentials",
                  registry.credentials_path().string(),
                  "--db",
                  db.string(),
                  "--hash-cost",
                  "test"};
  options.environment = {{"NO_COLOR", "1"}};
  child_process process(options);
  process.close_input();
  CHECK(process.wait_exit(registry_start_timeout) == 1);
  const auto& err = process.error_output();
  INFO("stderr: " << err);
  CHECK(err.find("cannot start: database \"" + db.string() + "\" cannot be loaded") !=
        std::string::npos);
  CHECK(err.find("database disk image is malformed") != std::string::npos);
  CHECK(read_file(db) == damaged);
}

}  // namespace parley::e2e
