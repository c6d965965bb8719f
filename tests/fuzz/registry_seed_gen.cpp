// Writes the seed corpora of the registry's own fuzz targets:
// - loader/: database files. A database the registry's store made (accounts, a block, an offline
//   message, a login), the same with small pages (short inputs mutate faster), in the rollback
//   journal instead of WAL, truncated, with a newer schema version, blank (a valid SQLite file
//   with no tables: the store claims it), another application's SQLite file, and an empty file.
// - core/: scripts for core_driver.hpp: logins, wrong passwords up to the lockout, new accounts,
//   offline messages up to the mailbox bound, blocks, a private chat, timeouts, a shutdown with
//   a hash in flight, and a frame through the real decoder.
// Run it after a schema or driver change and commit the output:
//   build/parley_fuzz_registry_seed_gen tests/fuzz/corpus
#include "registry/store/sqlite_store.hpp"
#include "shared/proto/codec.hpp"
#include "tests/fuzz/core_driver.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
using namespace parley;

namespace {

using seed = std::pair<std::string, std::string>;  // file name, bytes

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "seed_gen: %s\n", what.c_str());
  std::exit(1);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void sql(const fs::path& path, const std::string& statements) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) fail("cannot open " + path.string());
  char* error = nullptr;
  const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) fail(statements + ": " + message);
}

// A database as the registry's store makes it, closed (the -wal folded in).
void make_registry_database(const fs::path& path) {
  auto opened = registry::sqlite_store::open(path.string());
  if (!opened.store) fail(opened.error);
  auto& store = *opened.store;
  const auto t = registry::from_unix_ms(1'700'000'000'000);
  const bool ok = store.add_account("yoda", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", t) &&
                  store.add_account("luke", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaB", t) &&
                  store.set_lockout("luke", 2, t) && store.add_block("luke", "yoda") &&
                  store.store_offline("luke", "yoda", "may the force", t) &&
                  store.record_login("yoda", t) &&
                  store.issue_ticket("yoda", registry::ticket_digest{1, 2, 3}, t) &&
                  store.issue_ticket("luke", registry::ticket_digest{4, 5, 6}, t) &&
                  store.end_ticket("luke", t);
  if (!ok) fail("cannot fill " + path.string());
}

std::vector<seed> loader_seeds(const fs::path& scratch) {
  std::vector<seed> seeds;
  const auto made = [&](const char* name, auto&& make) {
    const fs::path path = scratch / name;
    make(path);
    seeds.emplace_back(name, read_bytes(path));
    return seeds.back().second;
  };
  const std::string registry = made("registry", make_registry_database);
  const std::string small = made("registry-512-byte-pages", [](const fs::path& p) {
    make_registry_database(p);
    sql(p,
        "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;"
        " PRAGMA journal_mode = WAL;");
  });
  made("registry-rollback-journal", [](const fs::path& p) {
    make_registry_database(p);
    sql(p, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;");
  });
  made("registry-newer-schema", [](const fs::path& p) {
    make_registry_database(p);
    sql(p,
        "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;"
        " PRAGMA user_version = 4;");
  });
  made("blank-sqlite", [](const fs::path& p) {
    sql(p, "PRAGMA page_size = 512; CREATE TABLE t(x); DROP TABLE t;");
  });
  made("another-application", [](const fs::path& p) {
    sql(p,
        "PRAGMA page_size = 512; PRAGMA application_id = 1234;"
        " CREATE TABLE recipes (name TEXT PRIMARY KEY, steps TEXT);"
        " INSERT INTO recipes VALUES ('bread', 'knead, wait, bake');");
  });
  seeds.emplace_back("truncated", registry.substr(0, registry.size() / 3));
  seeds.emplace_back("truncated-512-byte-pages", small.substr(0, small.size() / 2));
  seeds.emplace_back("empty", "");
  return seeds;
}

std::vector<seed> core_seeds() {
  // Indices into core_driver's vocabulary.
  enum : std::uint8_t { yoda, luke, leia, han };
  enum : std::uint8_t { jedi, wrong };
  using fuzz::script_writer;
  std::vector<seed> seeds;
  seeds.emplace_back("two-users-talk", script_writer()
                                           .connect()
                                           .log_in(0, yoda)
                                           .connect(1)
                                           .log_in(1, luke)
                                           .direct(0, luke)
                                           .broadcast(1)
                                           .who_else(0)
                                           .who_else_since(1, 10, 10)
                                           .logout(0)
                                           .disconnect(0)
                                           .bytes());
  seeds.emplace_back("new-account", script_writer()
                                        .connect()
                                        .hello(0)
                                        .name(0, han)
                                        .password(0, wrong)
                                        .hash_done()
                                        .broadcast(0)
                                        .bytes());
  seeds.emplace_back("lockout", script_writer()
                                    .connect()
                                    .log_in(0, leia, wrong)
                                    .password(0, wrong)
                                    .hash_done()
                                    .password(0, wrong)
                                    .hash_done()
                                    .disconnect(0)
                                    .advance_seconds(61)
                                    .connect()
                                    .log_in(0, leia)
                                    .bytes());
  auto offline = script_writer().connect().log_in(0, yoda);
  for (int i = 0; i < 4; ++i) offline.direct(0, leia, 1);
  offline.connect().log_in(1, leia);
  seeds.emplace_back("offline-messages", offline.bytes());
  seeds.emplace_back("blocks", script_writer()
                                   .connect()
                                   .log_in(0, yoda)
                                   .block(0, luke)
                                   .connect()
                                   .log_in(1, luke)
                                   .direct(1, yoda)
                                   .unblock(0, luke)
                                   .direct(1, yoda)
                                   .bytes());
  seeds.emplace_back("private-chat", script_writer()
                                         .connect()
                                         .hello(0)
                                         .listen(0)
                                         .name(0, yoda)
                                         .password(0, jedi)
                                         .hash_done()
                                         .connect(2)
                                         .hello(1)
                                         .listen(1)
                                         .name(1, luke)
                                         .password(1, jedi)
                                         .hash_done()
                                         .request(0, luke)
                                         .answer(1, yoda, 1)
                                         .request(1, yoda)
                                         .disconnect(0)
                                         .bytes());
  seeds.emplace_back("timeouts", script_writer()
                                     .connect()
                                     .connect()
                                     .log_in(1, yoda)
                                     .advance_seconds(31)
                                     .tick()
                                     .activity(1)
                                     .advance_past_idle()
                                     .tick()
                                     .bytes());
  seeds.emplace_back("shutdown-with-hash-in-flight", script_writer()
                                                         .connect()
                                                         .log_in(0, yoda)
                                                         .connect()
                                                         .hello(1)
                                                         .name(1, luke)
                                                         .password(1, jedi)
                                                         .shutdown()
                                                         .hash_done()
                                                         .bytes());
  // SPEC 11: a lost session resumed with its ticket, then one resumed after its window, and a
  // guess.
  seeds.emplace_back("resume", script_writer()
                                   .connect()
                                   .log_in(0, yoda)
                                   .connect()
                                   .log_in(1, luke)
                                   .store_done()
                                   .store_done()
                                   .disconnect(0)
                                   .connect()
                                   .hello(1)
                                   .listen(1)
                                   .resume(1)
                                   .direct(0, yoda)
                                   .disconnect(1)
                                   .advance_seconds(5)
                                   .tick()
                                   .connect()
                                   .hello(1)
                                   .resume(1)
                                   .store_done()
                                   .connect()
                                   .hello(2)
                                   .resume(2, 200)
                                   .shutdown()
                                   .bytes());
  const std::string frame = proto::encode_frame(proto::client_message{proto::client_hello{}});
  seeds.emplace_back(
      "decoded-hello",
      script_writer().connect().raw(0, frame.substr(proto::frame_header_bytes)).bytes());
  return seeds;
}

void write_seeds(const fs::path& folder, const std::vector<seed>& seeds) {
  fs::create_directories(folder);
  for (const auto& [name, bytes] : seeds) {
    std::ofstream file(folder / name, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file) fail("cannot write " + (folder / name).string());
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), folder.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_ROOT   (writes CORPUS_ROOT/loader and CORPUS_ROOT/core)\n",
                 argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::off);
  std::string pattern = (fs::temp_directory_path() / "parley-seed-gen-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("cannot make a scratch folder");
  const fs::path scratch = pattern;
  const fs::path root = argv[1];
  write_seeds(root / "loader", loader_seeds(scratch));
  write_seeds(root / "core", core_seeds());
  fs::remove_all(scratch);
  return 0;
}
