// Store failures speak (SPEC 9): a database that cannot be loaded stops the start-up with
// storage_error (naming the file, with SQLite's text) instead of an empty state, and every
// failure at run time is logged with SQLite's message. The failures are real: another SQLite
// connection to the same file changes the schema or holds the write lock.
#include "registry/core/registry_core.hpp"
#include "registry/core/storage.hpp"
#include "registry/store/sqlite_store.hpp"
#include "tests/support/immutable_flag.hpp"
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
// The other connection is plain SQLite, as another program (an operator's shell) would be.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace parley::registry;
using namespace std::chrono_literals;

namespace {

const time_point t0 = from_unix_ms(1'700'000'000'000);
// Short enough that a lock held on purpose fails a statement at once; the registry keeps 5 s.
constexpr std::chrono::milliseconds short_busy_timeout = 50ms;

// A database file in a folder of its own, removed with the folder at the end.
class temp_database {
 public:
  temp_database() {
    static std::atomic<int> counter{0};
    folder_ = fs::temp_directory_path() / ("parley-store-errors-" + std::to_string(::getpid()) +
                                           "-" + std::to_string(counter++));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  temp_database(const temp_database&) = delete;
  temp_database& operator=(const temp_database&) = delete;
  ~temp_database() {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }
  std::string path() const { return (folder_ / "registry.db").string(); }
  const fs::path& folder() const { return folder_; }

 private:
  fs::path folder_;
};

// Another connection to the same file, closed at the end of the scope.
class other_connection {
 public:
  explicit other_connection(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
  }
  other_connection(const other_connection&) = delete;
  other_connection& operator=(const other_connection&) = delete;
  ~other_connection() { sqlite3_close(db_); }

  void run(const char* sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    INFO(sql << ": " << (error ? error : ""));
    sqlite3_free(error);
    REQUIRE(rc == SQLITE_OK);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Everything logged through spdlog's default logger while it lives, one "level text" line per
// entry; the previous default logger is back afterwards.
class log_capture {
 public:
  log_capture() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "store-errors-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_));
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
  ~log_capture() { spdlog::set_default_logger(previous_); }

  std::string text() const { return lines_.str(); }
  bool has(const std::string& line) const { return text().find(line) != std::string::npos; }

 private:
  // Declared first: the capturing logger (and its sink, which writes here) goes before it.
  std::ostringstream lines_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A Parley database with one account, closed (its -wal folded in and removed).
void make_database(const std::string& path);

std::unique_ptr<sqlite_store> open_store(const std::string& path, store_options options = {}) {
  auto opened = sqlite_store::open(path, options);
  INFO(opened.error);
  REQUIRE(opened.store != nullptr);
  return std::move(opened.store);
}

}  // namespace

TEST_CASE("store errors: load() throws storage_error naming the file and SQLite's text") {
  temp_database file;
  auto store = open_store(file.path());
  REQUIRE(store->add_account("yoda", "hash-yoda", t0));
  REQUIRE(store->add_account("luke", "hash-luke", t0));
  REQUIRE(store->add_block("yoda", "luke"));
  REQUIRE(store->load().accounts.size() == 2);

  std::string broken;
  SUBCASE("a table dropped by another connection after open()") {
    other_connection(file.path()).run("DROP TABLE blocks");
    broken = "blocks";
  }
  SUBCASE("a table renamed by another connection after open()") {
    other_connection(file.path()).run("ALTER TABLE accounts RENAME TO old_accounts");
    broken = "accounts";
  }

  try {
    store->load();
    FAIL("load() returned although the " << broken << " table is gone");
  } catch (const storage_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("database \"" + file.path() + "\"") != std::string::npos);
    CHECK(what.find("reading its " + broken + " failed") != std::string::npos);
    CHECK(what.find("no such table") != std::string::npos);
  }
}

TEST_CASE(
    "store errors: writes refused while another connection holds the write lock are "
    "logged with SQLite's message, and work once it is released") {
  temp_database file;
  auto store = open_store(file.path(), {.busy_timeout = short_busy_timeout});
  REQUIRE(store->add_account("yoda", "hash-yoda", t0));
  REQUIRE(store->add_account("luke", "hash-luke", t0));
  REQUIRE(store->store_offline("luke", "yoda", "stored before the lock", t0));

  const std::string in_file = " in database \"" + file.path() + "\": database is locked";
  log_capture log;
  {
    other_connection holder(file.path());
    holder.run("BEGIN IMMEDIATE");

    const auto started = std::chrono::steady_clock::now();
    CHECK_FALSE(store->store_offline("luke", "yoda", "a secret body", t0));
    // The shortened timeout was the one applied: the registry's 5 s would have passed here.
    CHECK(std::chrono::steady_clock::now() - started < 4s);
    CHECK(log.has("error store: could not store an offline message for luke" + in_file));

    CHECK_FALSE(store->add_account("hans", "secret-hash-of-hans", t0));
    CHECK(log.has("error store: could not store the new account hans" + in_file));
    CHECK_FALSE(store->set_password_hash("yoda", "secret-new-hash"));
    CHECK(log.has("error store: could not store the new password hash of yoda" + in_file));
    CHECK_FALSE(store->set_lockout("yoda", 1, t0));
    CHECK(
        log.has("error store: could not store the failed attempts and lockout of yoda" + in_file));
    CHECK_FALSE(store->add_block("yoda", "luke"));
    CHECK(log.has("error store: could not store that yoda blocks luke" + in_file));
    CHECK_FALSE(store->record_login("yoda", t0));
    CHECK(log.has("error store: could not record the login of yoda" + in_file));
    // The messages stay stored for the next try.
    CHECK_FALSE(store->delete_offline("luke", 100));
    CHECK(
        log.has("error store: could not delete the confirmed offline messages of luke" + in_file));

    holder.run("ROLLBACK");
  }
  INFO(log.text());
  // Secrets and bodies never reach the log.
  CHECK(log.text().find("secret") == std::string::npos);

  CHECK(store->store_offline("luke", "yoda", "stored after the lock", t0));
  const auto page = store->read_offline("luke", 0, 10, 1 << 20);
  REQUIRE(page);
  REQUIRE(page->rows.size() == 2);
  CHECK(page->rows[0].text == "stored before the lock");
  CHECK(page->rows[1].text == "stored after the lock");
}

TEST_CASE("store errors: a write that matches no row is logged and fails") {
  auto store = open_store(":memory:");
  log_capture log;
  CHECK_FALSE(store->set_lockout("nobody", 1, t0));
  CHECK(
      log.has("error store: could not store the failed attempts and lockout of nobody in "
              "database \":memory:\": no row matched"));
}

namespace {

void make_database(const std::string& path) {
  auto store = open_store(path);
  REQUIRE(store->add_account("yoda", "hash-yoda", t0));
}

// Whether SQLite left files of its own beside the database.
bool has_side_files(const std::string& path) {
  return fs::exists(path + "-wal") || fs::exists(path + "-shm") || fs::exists(path + "-journal");
}

// The open of a file that must be refused: its error, after checking that the file is as it was.
std::string refused_open(const std::string& path, store_options options = {}) {
  const bool existed = fs::exists(path);
  const std::string before = existed ? read_bytes(path) : "";
  auto opened = sqlite_store::open(path, options);
  CHECK(opened.store == nullptr);
  INFO(opened.error);
  CHECK(opened.error.find("database \"" + path + "\" ") == 0);
  CHECK(fs::exists(path) == existed);
  if (existed) CHECK(read_bytes(path) == before);
  return opened.error;
}

}  // namespace

// SPEC 9: a database the registry cannot write is refused at start-up like a corrupt one. The
// immutable attribute stops root too (permission bits do not; the e2e tests run the registry
// under another uid for those).
TEST_CASE(
    "store errors: an immutable database file is refused before anything reads it, left as it "
    "was and without -wal or -shm files, and opens again once it may be written") {
  temp_database file;
  make_database(file.path());
  REQUIRE_FALSE(has_side_files(file.path()));
  {
    parley::testing::immutable_scope immutable(file.path());
    if (!immutable.active()) {
      MESSAGE("skipped: cannot make a file immutable here (" << immutable.error()
                                                             << "; needs root and ext4 or alike)");
      return;
    }
    const auto error = refused_open(file.path());
    CHECK(error == "database \"" + file.path() +
                       "\" cannot be written: the file is read-only (Operation not permitted; "
                       "SQLite: attempt to write a readonly database)");
    CHECK_FALSE(has_side_files(file.path()));
  }
  auto store = open_store(file.path());
  CHECK(store->load().accounts.size() == 1);
}

TEST_CASE(
    "store errors: a database in an immutable folder, where the -wal and -shm files cannot be "
    "created, is refused and left as it was") {
  temp_database file;
  make_database(file.path());
  parley::testing::immutable_scope immutable(file.folder());
  if (!immutable.active()) {
    MESSAGE("skipped: cannot make a folder immutable here (" << immutable.error() << ")");
    return;
  }
  const auto error = refused_open(file.path());
  CHECK(error.find("cannot be written: its folder \"" + file.folder().string() +
                   "\" is read-only (Operation not permitted; SQLite must create its -wal and "
                   "-shm files there; SQLite: ") != std::string::npos);
  CHECK_FALSE(has_side_files(file.path()));
}

TEST_CASE("store errors: a new database in an immutable folder cannot be created, and says why") {
  temp_database file;
  parley::testing::immutable_scope immutable(file.folder());
  if (!immutable.active()) {
    MESSAGE("skipped: cannot make a folder immutable here (" << immutable.error() << ")");
    return;
  }
  const auto error = refused_open(file.path());
  CHECK(error == "database \"" + file.path() + "\" cannot be created: its folder \"" +
                     file.folder().string() +
                     "\" is read-only (Operation not permitted; SQLite: unable to open database "
                     "file)");
}

TEST_CASE(
    "store errors: a database whose write lock another process holds is refused at open once "
    "the busy timeout has passed") {
  temp_database file;
  make_database(file.path());
  other_connection holder(file.path());
  holder.run("BEGIN IMMEDIATE");
  const auto error = refused_open(file.path(), {.busy_timeout = short_busy_timeout});
  CHECK(error == "database \"" + file.path() + "\" is locked by another process");
  holder.run("ROLLBACK");
  CHECK(sqlite_store::open(file.path()).store != nullptr);
}

// Found while writing the loader's fuzz target: the switch to WAL mode rewrote the header of a
// file that was then refused because its statements did not prepare.
TEST_CASE(
    "store errors: a Parley database with a column renamed is refused as a schema this build "
    "does not know, its rollback-journal header left as it was") {
  temp_database file;
  make_database(file.path());
  {
    other_connection tool(file.path());
    tool.run("PRAGMA journal_mode = DELETE");
    tool.run("ALTER TABLE accounts RENAME COLUMN failed_attempts TO attempts");
  }
  const auto before = read_bytes(file.path());
  // Bytes 18 and 19 of the header: 1 for the rollback journal, 2 for WAL.
  REQUIRE(before.size() > 20);
  REQUIRE(before[18] == 1);
  const auto error = refused_open(file.path());
  CHECK(error == "database \"" + file.path() +
                     "\" has a schema this build does not know (no such column: "
                     "failed_attempts)");
  CHECK_FALSE(has_side_files(file.path()));
}

TEST_CASE("store errors: a read-only database file is refused when the permission bits bite") {
  if (::geteuid() == 0) {
    MESSAGE(
        "skipped: root writes whatever the mode bits say (the e2e tests run the registry "
        "under another uid for this)");
    return;
  }
  temp_database file;
  make_database(file.path());
  fs::permissions(file.path(),
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto error = refused_open(file.path());
  CHECK(error == "database \"" + file.path() +
                     "\" cannot be written: the file is read-only (Permission denied; SQLite: "
                     "attempt to write a readonly database)");
  CHECK_FALSE(has_side_files(file.path()));
  fs::permissions(file.path(), fs::perms::owner_write, fs::perm_options::add);
}

// Found by the loader's fuzz target: a lockout time far outside the clock's range (a file edited
// or damaged by hand) overflowed the conversion to nanoseconds, undefined behaviour.
TEST_CASE(
    "store errors: stored times beyond the clock's range load as the ends of the range instead "
    "of overflowing") {
  temp_database file;
  {
    auto store = open_store(file.path());
    REQUIRE(store->add_account("yoda", "hash-yoda", t0));
    REQUIRE(store->add_account("luke", "hash-luke", t0));
    REQUIRE(store->record_login("luke", t0));
  }
  {
    other_connection tool(file.path());
    tool.run("UPDATE accounts SET locked_until = 9223372036854775807 WHERE name = 'yoda'");
    tool.run("UPDATE accounts SET locked_until = -29236295276544 WHERE name = 'luke'");
    tool.run("UPDATE logins SET logout_at = 400000000000000 WHERE name = 'luke'");
  }
  auto store = open_store(file.path());
  const auto accounts = store->load().accounts;
  REQUIRE(accounts.size() == 2);
  CHECK(accounts[0].name == "luke");
  CHECK(accounts[0].locked_until == time_point::min());
  CHECK(accounts[0].last_logout == time_point::max());
  CHECK(accounts[1].name == "yoda");
  CHECK(accounts[1].locked_until == time_point::max());
  // Times inside the range are kept to the millisecond.
  CHECK(from_unix_ms(to_unix_ms(t0)) == t0);
  CHECK(to_unix_ms(from_unix_ms(-1)) == -1);
}
