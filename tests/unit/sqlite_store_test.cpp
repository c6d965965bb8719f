#include "registry/store/sqlite_store.hpp"

#include <doctest/doctest.h>
// Only to forge files the store must refuse (another application's database, a newer schema):
// written with SQLite's C API directly, independently of the code under test.
#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using namespace parley::registry;
using namespace std::chrono_literals;

namespace {

// A fixed, whole-millisecond time: the store keeps milliseconds.
const time_point t0 = from_unix_ms(1'700'000'000'000);

// A fresh directory per test, removed with everything in it at the end.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("parley-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::unique_ptr<sqlite_store> open_ok(const std::string& path) {
  auto opened = sqlite_store::open(path);
  INFO(opened.error);
  REQUIRE(opened.store != nullptr);
  CHECK(opened.error.empty());
  return std::move(opened.store);
}

// Runs SQL on a file with plain SQLite, as another program would.
void run_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// A closed Parley database with a few pages of content.
void make_parley_db(const std::string& path) {
  auto store = open_ok(path);
  REQUIRE(store->add_account("yoda", "hash-yoda", t0));
  REQUIRE(store->add_account("luke", "hash-luke", t0));
  REQUIRE(store->add_block("yoda", "luke"));
  // Few commits (each one is fsynced) but enough bytes to span several pages.
  for (int i = 0; i < 20; ++i) {
    REQUIRE(
        store->store_offline("luke", "yoda", std::string(1000, static_cast<char>('a' + i)), t0));
  }
}

// Opening must fail, name the file, and leave every byte of it as it was.
std::string check_refused(const std::string& path) {
  const auto before = read_bytes(path);
  const auto size_before = fs::file_size(path);
  const auto opened = sqlite_store::open(path);
  INFO(opened.error);
  CHECK(opened.store == nullptr);
  CHECK(opened.error.find(path) != std::string::npos);
  CHECK(fs::file_size(path) == size_before);
  CHECK(read_bytes(path) == before);
  return opened.error;
}

// Reads every message stored for the recipient, then deletes them: what a login whose peer
// confirms them all does.
std::vector<offline_record> take_offline(sqlite_store& store, const std::string& recipient) {
  auto page = store.read_offline(recipient, 0, 1'000'000, SIZE_MAX);
  REQUIRE(page);
  CHECK_FALSE(page->more);
  if (!page->rows.empty())
    CHECK(store.delete_offline(recipient, page->rows.back().id) == page->rows.size());
  return std::move(page->rows);
}

// The rows of a table, counted by plain SQLite on a connection of its own.
std::int64_t count_rows(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &count, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(count) == SQLITE_ROW);
  const std::int64_t rows = sqlite3_column_int64(count, 0);
  sqlite3_finalize(count);
  sqlite3_close(db);
  return rows;
}

void add_users(sqlite_store& store) {
  REQUIRE(store.add_account("yoda", "hash-yoda", t0));
  REQUIRE(store.add_account("luke", "hash-luke", t0));
  REQUIRE(store.add_account("hans", "hash-hans", t0));
}

}  // namespace

TEST_CASE("sqlite_store: a :memory: store starts empty") {
  auto store = open_ok(":memory:");
  CHECK(store->path() == ":memory:");
  const auto snapshot = store->load();
  CHECK(snapshot.accounts.empty());
  CHECK(snapshot.blocks.empty());
  CHECK(store->count_offline("yoda") == 0);
  CHECK(take_offline(*store, "yoda").empty());
}

TEST_CASE("sqlite_store: accounts") {
  auto store = open_ok(":memory:");
  CHECK(store->add_account("yoda", "hash-yoda", t0));
  CHECK(store->add_account("Yoda", "hash-Yoda", t0));
  CHECK_FALSE(store->add_account("yoda", "another", t0));

  SUBCASE("load returns them with their hash and no lockout") {
    const auto snapshot = store->load();
    REQUIRE(snapshot.accounts.size() == 2);
    for (const auto& account : snapshot.accounts) {
      CHECK(account.password_hash == "hash-" + account.name);
      CHECK(account.failed_attempts == 0);
      CHECK(account.locked_until == time_point{});
      CHECK_FALSE(account.last_logout.has_value());
    }
  }
  SUBCASE("password hashes can be replaced") {
    CHECK(store->set_password_hash("yoda", "rehashed"));
    CHECK_FALSE(store->set_password_hash("nobody", "rehashed"));
    const auto snapshot = store->load();
    for (const auto& account : snapshot.accounts) {
      CHECK(account.password_hash == (account.name == "yoda" ? "rehashed" : "hash-Yoda"));
    }
  }
  SUBCASE("lockouts are kept to the millisecond") {
    const auto until = t0 + 90s + 123ms;
    CHECK(store->set_lockout("yoda", 3, until));
    CHECK_FALSE(store->set_lockout("nobody", 1, until));
    auto snapshot = store->load();
    for (const auto& account : snapshot.accounts) {
      if (account.name != "yoda") continue;
      CHECK(account.failed_attempts == 3);
      CHECK(account.locked_until == until);
    }
    CHECK(store->set_lockout("yoda", 0, time_point{}));
    snapshot = store->load();
    for (const auto& account : snapshot.accounts) {
      CHECK(account.failed_attempts == 0);
      CHECK(account.locked_until == time_point{});
    }
  }
}

TEST_CASE("sqlite_store: blocks") {
  auto store = open_ok(":memory:");
  add_users(*store);
  CHECK(store->add_block("yoda", "luke"));
  // Already blocked: the state asked for holds, so it is not a failure.
  CHECK(store->add_block("yoda", "luke"));
  CHECK(store->add_block("luke", "yoda"));
  CHECK(store->add_block("hans", "yoda"));
  CHECK_FALSE(store->add_block("yoda", "nobody"));
  CHECK_FALSE(store->add_block("nobody", "yoda"));
  CHECK_FALSE(store->add_block("yoda", "yoda"));

  auto snapshot = store->load();
  CHECK(snapshot.blocks.size() == 3);

  CHECK(store->remove_block("hans", "yoda"));
  CHECK(store->remove_block("hans", "yoda"));
  snapshot = store->load();
  REQUIRE(snapshot.blocks.size() == 2);
  for (const auto& block : snapshot.blocks) {
    const bool expected = (block.blocker == "yoda" && block.blocked == "luke") ||
                          (block.blocker == "luke" && block.blocked == "yoda");
    CHECK(expected);
  }
}

TEST_CASE("sqlite_store: offline messages are taken once, oldest first, per recipient") {
  auto store = open_ok(":memory:");
  add_users(*store);
  using namespace std::string_literals;
  const std::string odd = "tab\there, NUL\0inside, \xE2\x9C\x93 UTF-8"s;

  CHECK(store->store_offline("luke", "yoda", "first", t0));
  CHECK(store->store_offline("luke", "hans", odd, t0 + 1ms));
  CHECK(store->store_offline("hans", "yoda", "for hans", t0 + 2ms));
  CHECK(store->store_offline("luke", "yoda", "third", t0 + 3ms));
  CHECK_FALSE(store->store_offline("nobody", "yoda", "lost", t0));
  CHECK_FALSE(store->store_offline("luke", "nobody", "lost", t0));
  CHECK(store->count_offline("luke") == 3);
  CHECK(store->count_offline("hans") == 1);
  CHECK(store->count_offline("yoda") == 0);

  const auto taken = take_offline(*store, "luke");
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].sender == "yoda");
  CHECK(taken[0].text == "first");
  CHECK(taken[0].sent_at == t0);
  CHECK(taken[1].sender == "hans");
  CHECK(taken[1].text == odd);
  CHECK(taken[1].sent_at == t0 + 1ms);
  CHECK(taken[2].text == "third");
  CHECK(taken[0].id < taken[1].id);
  CHECK(taken[1].id < taken[2].id);

  CHECK(store->count_offline("luke") == 0);
  CHECK(take_offline(*store, "luke").empty());
  // Someone else's messages are untouched.
  CHECK(store->count_offline("hans") == 1);

  // New messages after a take get new ids and are taken on their own.
  CHECK(store->store_offline("luke", "yoda", "later", t0 + 4ms));
  const auto later = take_offline(*store, "luke");
  REQUIRE(later.size() == 1);
  CHECK(later[0].text == "later");
  CHECK(later[0].id > taken[2].id);
}

TEST_CASE("sqlite_store: login history gives the last logout") {
  auto store = open_ok(":memory:");
  add_users(*store);
  const auto last_logout_of = [&](const std::string& name) {
    for (auto& account : store->load().accounts) {
      if (account.name == name) return account.last_logout;
    }
    FAIL("no account " << name);
    return std::optional<time_point>{};
  };

  CHECK(store->record_login("yoda", t0));
  CHECK_FALSE(last_logout_of("yoda").has_value());
  CHECK(store->record_logout("yoda", t0 + 10s));
  CHECK(last_logout_of("yoda") == t0 + 10s);

  CHECK(store->record_login("yoda", t0 + 20s));
  CHECK(last_logout_of("yoda") == t0 + 10s);
  CHECK(store->record_logout("yoda", t0 + 30s));
  CHECK(last_logout_of("yoda") == t0 + 30s);

  // Nothing open to close: nothing changes, and it is not a failure.
  CHECK(store->record_logout("yoda", t0 + 40s));
  CHECK(last_logout_of("yoda") == t0 + 30s);

  CHECK_FALSE(store->record_login("nobody", t0));
  CHECK_FALSE(last_logout_of("luke").has_value());
}

TEST_CASE("sqlite_store: sessions left open by a crash are closed at start-up") {
  auto store = open_ok(":memory:");
  add_users(*store);
  REQUIRE(store->record_login("yoda", t0));
  REQUIRE(store->record_login("luke", t0));
  REQUIRE(store->record_logout("luke", t0 + 5s));
  REQUIRE(store->record_login("hans", t0 + 6s));

  store->close_dangling_logins(t0 + 60s);
  for (const auto& account : store->load().accounts) {
    INFO(account.name);
    CHECK(account.last_logout == (account.name == "luke" ? t0 + 5s : t0 + 60s));
  }
  // They are closed: a later logout has nothing left to close.
  CHECK(store->record_logout("yoda", t0 + 90s));
  for (const auto& account : store->load().accounts) {
    if (account.name == "yoda") CHECK(account.last_logout == t0 + 60s);
  }
}

TEST_CASE("sqlite_store: a new file is a WAL database stamped as Parley's") {
  temp_dir dir;
  const auto path = dir.file("registry.db");
  { open_ok(path); }
  const auto bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 100);
  CHECK(bytes.starts_with(std::string("SQLite format 3\0", 16)));
  // File format version numbers 2/2 mean WAL (offsets 18 and 19 of the header).
  CHECK(bytes[18] == 2);
  CHECK(bytes[19] == 2);
  // user_version at offset 60 and application_id at offset 68, both big-endian.
  CHECK(bytes.substr(60, 4) == std::string("\0\0\0\3", 4));
  CHECK(bytes.substr(68, 4) == "PRLY");
}

TEST_CASE("sqlite_store: everything survives closing and reopening the file") {
  temp_dir dir;
  const auto path = dir.file("registry.db");
  {
    auto store = open_ok(path);
    CHECK(store->path() == path);
    add_users(*store);
    CHECK(store->set_lockout("hans", 3, t0 + 60s));
    CHECK(store->set_password_hash("luke", "rehashed"));
    CHECK(store->add_block("yoda", "luke"));
    CHECK(store->store_offline("luke", "yoda", "one", t0));
    CHECK(store->store_offline("luke", "hans", "two", t0 + 1ms));
    CHECK(store->record_login("yoda", t0));
    CHECK(store->record_logout("yoda", t0 + 5s));
  }
  auto store = open_ok(path);
  const auto snapshot = store->load();
  REQUIRE(snapshot.accounts.size() == 3);
  for (const auto& account : snapshot.accounts) {
    INFO(account.name);
    if (account.name == "hans") {
      CHECK(account.failed_attempts == 3);
      CHECK(account.locked_until == t0 + 60s);
    }
    if (account.name == "luke") CHECK(account.password_hash == "rehashed");
    if (account.name == "yoda") CHECK(account.last_logout == t0 + 5s);
  }
  REQUIRE(snapshot.blocks.size() == 1);
  CHECK(snapshot.blocks[0].blocker == "yoda");
  CHECK(snapshot.blocks[0].blocked == "luke");

  const auto taken = take_offline(*store, "luke");
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].text == "one");
  CHECK(taken[1].text == "two");
  store.reset();
  // Taken means gone, also after a restart.
  CHECK(open_ok(path)->count_offline("luke") == 0);
}

TEST_CASE("sqlite_store: a process killed with SIGKILL loses nothing it was told was stored") {
  temp_dir dir;
  const auto path = dir.file("registry.db");
  { add_users(*open_ok(path)); }

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No destructor runs, no close, no checkpoint: the commits must already be durable.
    auto opened = sqlite_store::open(path);
    bool all_stored = opened.store != nullptr;
    for (int i = 0; all_stored && i < 50; ++i) {
      all_stored = opened.store->store_offline("luke", "yoda", "m" + std::to_string(i), t0);
    }
    const auto page = all_stored ? opened.store->read_offline("luke", 0, 100, SIZE_MAX)
                                 : std::optional<offline_page>();
    all_stored = page && page->rows.size() == 50 &&
                 opened.store->delete_offline("luke", page->rows.back().id) == 50u;
    for (int i = 50; all_stored && i < 60; ++i) {
      all_stored = opened.store->store_offline("luke", "yoda", "m" + std::to_string(i), t0);
    }
    all_stored = all_stored && opened.store->record_login("yoda", t0);
    if (!all_stored) ::_exit(1);
    ::kill(::getpid(), SIGKILL);
    ::_exit(2);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  auto store = open_ok(path);
  // The 50 taken before the crash stay taken; the 10 stored after are all there, once.
  const auto taken = take_offline(*store, "luke");
  REQUIRE(taken.size() == 10);
  CHECK(taken.front().text == "m50");
  CHECK(taken.back().text == "m59");
  // The crashed session is still open until start-up closes it.
  store->close_dangling_logins(t0 + 1h);
  for (const auto& account : store->load().accounts) {
    if (account.name == "yoda") CHECK(account.last_logout == t0 + 1h);
  }
}

TEST_CASE("sqlite_store: a path with URI-special characters is just a file name") {
  temp_dir dir;
  const auto path = dir.file("odd?name#with%25.db");
  { REQUIRE(open_ok(path)->add_account("yoda", "hash", t0)); }
  CHECK(fs::exists(path));
  CHECK(open_ok(path)->load().accounts.size() == 1);
}

TEST_CASE("sqlite_store: a blank SQLite file nobody has claimed is initialised") {
  temp_dir dir;
  const auto path = dir.file("blank.db");
  // A table created then dropped leaves a non-empty file with no tables and no application id.
  run_sql(path, "CREATE TABLE scratch (x); DROP TABLE scratch;");
  REQUIRE(fs::file_size(path) > 0);
  auto store = open_ok(path);
  CHECK(store->add_account("yoda", "hash", t0));
}

TEST_CASE("sqlite_store: files that are not Parley databases are refused and left untouched") {
  temp_dir dir;

  SUBCASE("an empty file") {
    const auto path = dir.file("empty.db");
    write_bytes(path, "");
    CHECK(check_refused(path).find("is empty") != std::string::npos);
  }
  SUBCASE("random bytes") {
    const auto path = dir.file("random.db");
    std::mt19937 random(42);
    std::string bytes(16 * 1024, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random());
    write_bytes(path, bytes);
    CHECK(check_refused(path).find("is not a SQLite database") != std::string::npos);
  }
  SUBCASE("a text file") {
    const auto path = dir.file("credentials.txt");
    write_bytes(path, "yoda wise0ne\nluke f0rce\n");
    CHECK(check_refused(path).find("is not a SQLite database") != std::string::npos);
  }
  SUBCASE("a Parley database truncated to half its size") {
    const auto whole = dir.file("whole.db");
    make_parley_db(whole);
    const auto bytes = read_bytes(whole);
    REQUIRE(bytes.size() >= 4 * 4096);
    const auto path = dir.file("truncated.db");
    write_bytes(path, bytes.substr(0, bytes.size() / 2));
    CHECK(check_refused(path).find("corrupt") != std::string::npos);
  }
  SUBCASE("a Parley database with a damaged page") {
    const auto path = dir.file("damaged.db");
    make_parley_db(path);
    auto bytes = read_bytes(path);
    REQUIRE(bytes.size() >= 4 * 4096);
    // Scribble over the cell pointers of the third page, a b-tree page of one of our tables.
    for (std::size_t i = 2 * 4096 + 8; i < 2 * 4096 + 200; ++i) bytes[i] = '\x5a';
    write_bytes(path, bytes);
    const auto error = check_refused(path);
    CHECK(error.find("corrupt") != std::string::npos);
    // One line, fit for a log.
    CHECK(error.find('\n') == std::string::npos);
  }
  SUBCASE("another application's SQLite database") {
    const auto path = dir.file("other.db");
    run_sql(
        path,
        "CREATE TABLE contacts (name TEXT, phone TEXT); INSERT INTO contacts VALUES ('a', '1');");
    CHECK(check_refused(path).find("belongs to another application") != std::string::npos);
  }
  SUBCASE("another application's WAL database gets no -shm or -wal file beside it") {
    const auto path = dir.file("wal.db");
    run_sql(path, "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    REQUIRE_FALSE(fs::exists(path + "-wal"));
    CHECK(check_refused(path).find("belongs to another application") != std::string::npos);
    CHECK_FALSE(fs::exists(path + "-wal"));
    CHECK_FALSE(fs::exists(path + "-shm"));
  }
  SUBCASE("another application's database with its own application id") {
    const auto path = dir.file("tagged.db");
    run_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t (x);");
    CHECK(check_refused(path).find("belongs to another application") != std::string::npos);
  }
  SUBCASE("a database written by a newer Parley") {
    const auto path = dir.file("newer.db");
    make_parley_db(path);
    run_sql(path, "PRAGMA user_version = 4;");
    CHECK(check_refused(path).find("was written by a newer Parley") != std::string::npos);
  }
  SUBCASE("a Parley database missing one of its tables") {
    const auto path = dir.file("partial.db");
    make_parley_db(path);
    run_sql(path, "DROP TABLE logins;");
    CHECK(check_refused(path).find("logins") != std::string::npos);
  }
  SUBCASE("a Parley database of schema version 2 without its staging table") {
    const auto path = dir.file("unstaged.db");
    make_parley_db(path);
    run_sql(path, "DROP TABLE offline_staged;");
    CHECK(check_refused(path).find("offline_staged") != std::string::npos);
  }
  SUBCASE("a Parley database of schema version 3 without its tickets table") {
    const auto path = dir.file("unticketed.db");
    make_parley_db(path);
    run_sql(path, "DROP TABLE resume_tickets;");
    CHECK(check_refused(path).find("resume_tickets") != std::string::npos);
  }
  SUBCASE("a Parley database of schema version 2 with a tickets table already") {
    const auto path = dir.file("early-tickets.db");
    make_parley_db(path);
    run_sql(path, "PRAGMA user_version = 2;");
    CHECK(check_refused(path).find("its schema version 2 does not have") != std::string::npos);
  }
  SUBCASE("a Parley database of schema version 1 with a staging table already") {
    const auto path = dir.file("early-staging.db");
    make_parley_db(path);
    run_sql(path, "DROP TABLE resume_tickets; PRAGMA user_version = 1;");
    CHECK(check_refused(path).find("its schema version 1 does not have") != std::string::npos);
  }
  SUBCASE("a Parley database whose staging table lacks a column") {
    const auto path = dir.file("odd-staging.db");
    make_parley_db(path);
    run_sql(path,
            "DROP TABLE offline_staged;"
            " CREATE TABLE offline_staged (id INTEGER PRIMARY KEY, recipient TEXT);");
    CHECK(check_refused(path).find("has a schema this build does not know") != std::string::npos);
  }
}

TEST_CASE("sqlite_store: paths that cannot be a database") {
  temp_dir dir;
  SUBCASE("a missing directory") {
    const auto path = dir.file("no-such-dir/registry.db");
    const auto opened = sqlite_store::open(path);
    CHECK(opened.store == nullptr);
    CHECK(opened.error.find(path) != std::string::npos);
    CHECK(opened.error.find("does not exist") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("no-such-dir")));
  }
  SUBCASE("a directory") {
    const auto path = dir.file("a-directory");
    fs::create_directory(path);
    const auto opened = sqlite_store::open(path);
    CHECK(opened.store == nullptr);
    CHECK(opened.error.find(path) != std::string::npos);
  }
  SUBCASE("an empty path") {
    const auto opened = sqlite_store::open("");
    CHECK(opened.store == nullptr);
    CHECK_FALSE(opened.error.empty());
  }
}

TEST_CASE("sqlite_store: a mailbox is read a page at a time and deleted up to an id") {
  auto store = open_ok(":memory:");
  add_users(*store);
  for (int i = 0; i < 5; ++i)
    REQUIRE(store->store_offline("luke", "yoda", std::string(100, char('a' + i)), t0));

  // By rows: two, and more remain.
  auto page = store->read_offline("luke", 0, 2, 1 << 20);
  REQUIRE(page);
  REQUIRE(page->rows.size() == 2);
  CHECK(page->more);
  CHECK(page->rows[0].text[0] == 'a');
  // After the last id read: the next ones.
  page = store->read_offline("luke", page->rows.back().id, 2, 1 << 20);
  REQUIRE(page);
  REQUIRE(page->rows.size() == 2);
  CHECK(page->rows[0].text[0] == 'c');
  CHECK(page->more);
  // By bytes: 250 bytes hold two bodies of 100.
  page = store->read_offline("luke", 0, 100, 250);
  REQUIRE(page);
  CHECK(page->rows.size() == 2);
  CHECK(page->more);
  // A first body larger than the byte bound still comes, alone.
  page = store->read_offline("luke", 0, 100, 10);
  REQUIRE(page);
  CHECK(page->rows.size() == 1);
  // Everything: no more.
  page = store->read_offline("luke", 0, 5, 1 << 20);
  REQUIRE(page);
  CHECK(page->rows.size() == 5);
  CHECK_FALSE(page->more);

  // Deleting up to the second id leaves three, and the count says so.
  CHECK(store->delete_offline("luke", page->rows[1].id) == 2u);
  CHECK(store->count_offline("luke") == 3);
  CHECK(store->delete_offline("luke", page->rows[1].id) == 0u);
  // Another recipient's messages are not touched by luke's ids.
  REQUIRE(store->store_offline("hans", "yoda", "for hans", t0));
  CHECK(store->delete_offline("luke", 1'000'000) == 3u);
  CHECK(store->count_offline("hans") == 1);
  // The snapshot counts each mailbox.
  const auto snapshot = store->load();
  REQUIRE(snapshot.mailboxes.size() == 1);
  CHECK(snapshot.mailboxes[0] == std::pair<std::string, std::size_t>{"hans", 1});
}

TEST_CASE("sqlite_store: a batch is one transaction: committed together, or not at all") {
  temp_dir dir;
  const auto path = dir.file("registry.db");
  auto store = open_ok(path);
  add_users(*store);
  REQUIRE(store->begin_batch());
  CHECK(store->in_batch());
  CHECK(store->store_offline("luke", "yoda", "one", t0));
  CHECK(store->store_offline("luke", "yoda", "two", t0));
  REQUIRE(store->commit_batch());
  CHECK_FALSE(store->in_batch());
  // A batch never committed (the process died, say) leaves nothing.
  REQUIRE(store->begin_batch());
  CHECK(store->store_offline("luke", "yoda", "three", t0));
  store.reset();
  CHECK(open_ok(path)->count_offline("luke") == 2);
}

// Offline messages are written to a staging table and moved into the indexed one every few
// thousand rows and before a mailbox is read (database_file.cpp): whatever the mix, each
// recipient reads its own messages, all of them, once, oldest first, with ids that keep growing.
TEST_CASE("sqlite_store: staged offline messages are read in order, across moves and reopening") {
  temp_dir dir;
  const auto path = dir.file("registry.db");
  auto store = open_ok(path);
  add_users(*store);
  const std::array<const char*, 2> recipients = {"luke", "hans"};
  std::array<int, 2> stored = {0, 0};
  // 40,000 rows: the staging table is moved once by its size (32,768 rows) along the way, and
  // the rest stays staged; in batches like the worker's.
  for (int batch = 0; batch < 40; ++batch) {
    REQUIRE(store->begin_batch());
    for (int i = 0; i < 1000; ++i) {
      const int to = (i % 3 == 0) ? 1 : 0;
      REQUIRE(store->store_offline(recipients[to], "yoda",
                                   std::to_string(to) + ":" + std::to_string(stored[to]++), t0));
    }
    REQUIRE(store->commit_batch());
  }
  CHECK(count_rows(path, "offline_messages") == 32768);
  CHECK(count_rows(path, "offline_staged") == 40000 - 32768);
  // Counted (some rows moved, some still staged), and in the snapshot, before any read.
  CHECK(store->count_offline("luke") == static_cast<std::size_t>(stored[0]));
  CHECK(store->count_offline("hans") == static_cast<std::size_t>(stored[1]));
  const auto counted = store->load().mailboxes;
  using mailbox = std::pair<std::string, std::size_t>;
  CHECK(counted == std::vector<mailbox>{mailbox{"hans", static_cast<std::size_t>(stored[1])},
                                        mailbox{"luke", static_cast<std::size_t>(stored[0])}});

  // luke's first page, then one more message, then the rest: every one once, in order.
  auto page = store->read_offline("luke", 0, 100, SIZE_MAX);
  REQUIRE(page);
  REQUIRE(page->rows.size() == 100);
  REQUIRE(store->store_offline("luke", "yoda", "0:" + std::to_string(stored[0]++), t0));
  std::vector<offline_record> luke = page->rows;
  for (;;) {
    page = store->read_offline("luke", luke.back().id, 1000, SIZE_MAX);
    REQUIRE(page);
    luke.insert(luke.end(), page->rows.begin(), page->rows.end());
    if (!page->more) break;
  }
  REQUIRE(luke.size() == static_cast<std::size_t>(stored[0]));
  for (std::size_t i = 0; i < luke.size(); ++i) {
    CHECK(luke[i].text == "0:" + std::to_string(i));
    if (i > 0) CHECK(luke[i].id > luke[i - 1].id);
  }
  CHECK(store->delete_offline("luke", luke.back().id) == luke.size());
  // The read moved everything.
  CHECK(count_rows(path, "offline_staged") == 0);

  // Reopened: hans's are all there, and the next id is above every id given before.
  const auto highest = luke.back().id;
  store.reset();
  store = open_ok(path);
  REQUIRE(store->store_offline("luke", "yoda", "after reopening", t0));
  const auto hans = take_offline(*store, "hans");
  REQUIRE(hans.size() == static_cast<std::size_t>(stored[1]));
  for (std::size_t i = 0; i < hans.size(); ++i) CHECK(hans[i].text == "1:" + std::to_string(i));
  const auto later = take_offline(*store, "luke");
  REQUIRE(later.size() == 1);
  CHECK(later[0].id > highest);
}

// A file of schema version 1 (before the staging table), made here as that build made it: read
// as it is, then upgraded, its messages kept and its ids never given again.
TEST_CASE("sqlite_store: a version 1 file is upgraded once it has been loaded") {
  temp_dir dir;
  const auto path = dir.file("v1.db");
  run_sql(path, R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE accounts (name TEXT NOT NULL PRIMARY KEY, password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0);
CREATE TABLE blocks (blocker TEXT NOT NULL REFERENCES accounts(name),
  blocked TEXT NOT NULL REFERENCES accounts(name), PRIMARY KEY (blocker, blocked),
  CHECK (blocker <> blocked)) WITHOUT ROWID;
CREATE TABLE offline_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient TEXT NOT NULL REFERENCES accounts(name), sender TEXT NOT NULL REFERENCES accounts(name),
  body TEXT NOT NULL, sent_at INTEGER NOT NULL);
CREATE INDEX offline_messages_by_recipient ON offline_messages(recipient, id);
CREATE TABLE logins (id INTEGER PRIMARY KEY, name TEXT NOT NULL REFERENCES accounts(name),
  login_at INTEGER NOT NULL, logout_at INTEGER);
CREATE INDEX logins_by_name ON logins(name, logout_at);
PRAGMA application_id = 1347570777;
PRAGMA user_version = 1;
INSERT INTO accounts (name, password_hash, created_at) VALUES ('yoda', 'h', 0), ('luke', 'h', 0);
INSERT INTO offline_messages (recipient, sender, body, sent_at) VALUES
  ('luke', 'yoda', 'one', 0), ('luke', 'yoda', 'two', 0), ('luke', 'yoda', 'gone', 0);
DELETE FROM offline_messages WHERE body = 'gone';
)sql");
  auto store = open_ok(path);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* version = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(version) == SQLITE_ROW);
    CHECK(sqlite3_column_int(version, 0) == 3);
    sqlite3_finalize(version);
    sqlite3_close(db);
  }
  using mailbox = std::pair<std::string, std::size_t>;
  CHECK(store->load().mailboxes == std::vector<mailbox>{mailbox{"luke", 2}});
  REQUIRE(store->store_offline("luke", "yoda", "three", t0));
  const auto luke = take_offline(*store, "luke");
  REQUIRE(luke.size() == 3);
  CHECK(luke[0].text == "one");
  CHECK(luke[1].text == "two");
  CHECK(luke[2].text == "three");
  // Id 3 was given to the deleted message: the new one comes after it.
  CHECK(luke[2].id == 4);
  // Opened again: nothing to upgrade, nothing lost.
  store.reset();
  CHECK(open_ok(path)->count_offline("luke") == 0);
}

parley::registry::ticket_digest digest_of(std::uint8_t first) {
  parley::registry::ticket_digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(first + i);
  return d;
}

TEST_CASE("sqlite_store: resume tickets, one per account, survive a reopen") {
  temp_dir dir;
  const auto path = dir.file("tickets.db");
  {
    auto store = open_ok(path);
    REQUIRE(store->add_account("yoda", "h", t0));
    REQUIRE(store->add_account("luke", "h", t0));
    REQUIRE(store->issue_ticket("yoda", digest_of(1), t0));
    REQUIRE(store->issue_ticket("luke", digest_of(2), t0));
    // A new ticket replaces the old one and its end.
    REQUIRE(store->end_ticket("luke", t0 + 5s));
    REQUIRE(store->issue_ticket("luke", digest_of(3), t0 + 10s));
    REQUIRE(store->end_ticket("yoda", t0 + 20s));
    REQUIRE(store->record_login("luke", t0 + 10s));
    REQUIRE(store->record_login("yoda", t0));
    // A ticket needs an account.
    CHECK_FALSE(store->issue_ticket("nobody", digest_of(4), t0));
  }
  auto store = open_ok(path);
  const auto tickets = store->load().tickets;
  REQUIRE(tickets.size() == 2);
  CHECK(tickets[0].name == "luke");
  CHECK(tickets[0].digest == digest_of(3));
  CHECK(tickets[0].issued_at == t0 + 10s);
  CHECK_FALSE(tickets[0].ended_at);
  CHECK(tickets[1].name == "yoda");
  CHECK(tickets[1].digest == digest_of(1));
  CHECK(tickets[1].ended_at == t0 + 20s);
  // luke's session had not ended: its login stays open; yoda's is closed.
  store->close_dangling_logins(t0 + 1h);
  const auto accounts = store->load().accounts;
  for (const auto& a : accounts) {
    CAPTURE(a.name);
    if (a.name == "luke") CHECK_FALSE(a.last_logout);
    if (a.name == "yoda") CHECK(a.last_logout == t0 + 1h);
  }
  REQUIRE(store->revoke_ticket("luke"));
  CHECK(store->load().tickets.size() == 1);
}
