// Invocation (SPEC 1) and database files the registry must refuse without touching (SPEC 9).
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <random>

namespace parley::e2e {

namespace {

// A run of a program that ends by itself: no terminal, output captured.
struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

run_result run(std::vector<std::string> argv, milliseconds timeout = default_timeout,
               call_site where = call_site::here()) {
  launch_options options;
  options.argv = std::move(argv);
  options.environment = {{"NO_COLOR", "1"}};
  child_process process(options);
  process.close_input();
  run_result result;
  result.exit_code = process.wait_exit(timeout, where);
  result.out = process.raw_output();
  result.err = process.error_output();
  return result;
}

constexpr std::string_view registry_usage =
    "Usage: registry <server_port> <block_duration> <timeout> [options]";
constexpr std::string_view peer_usage = "Usage: peer <server_port> [options]";

// Bad arguments: exit 2, nothing on stdout, one error line naming `culprit`, then the usage.
void check_refused(const std::vector<std::string>& argv, std::string_view culprit,
                   std::string_view usage) {
  std::string command;
  for (const auto& argument : argv) command += argument + " ";
  INFO("command: " << command);
  const auto result = run(argv);
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  const auto lines = split_lines(result.err);
  INFO("stderr: " << result.err);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find(culprit) != std::string::npos);
  CHECK(lines[1] == usage);
}

// The registry refuses the database `db`: exit 1, the file named, not a byte changed.
void check_database_refused(const std::filesystem::path& db) {
  const auto before = read_file(db);
  const temp_file credentials("credentials.txt", "yoda wise\n");
  const auto result =
      run({registry_binary, std::to_string(unused_port()), "10", "30", "--credentials",
           credentials.path().string(), "--db", db.string(), "--hash-cost", "test"},
          registry_start_timeout);
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find(db.string()) != std::string::npos);
  CHECK(read_file(db) == before);
}

// Another application's database: a valid SQLite file with a table of its own.
void make_foreign_database(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db,
                     "CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
                     "INSERT INTO recipes (name) VALUES ('bantha stew'), ('blue milk');",
                     nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("cli: the registry refuses bad arguments with one line and the usage and exits 2") {
  check_refused({registry_binary}, "server_port", registry_usage);
  check_refused({registry_binary, "80", "10", "30"}, "'80'", registry_usage);
  check_refused({registry_binary, "65536", "10", "30"}, "'65536'", registry_usage);
  check_refused({registry_binary, "port", "10", "30"}, "'port'", registry_usage);
  check_refused({registry_binary, "4000", "0", "30"}, "block_duration", registry_usage);
  check_refused({registry_binary, "4000", "ten", "30"}, "block_duration", registry_usage);
  check_refused({registry_binary, "4000", "10", "1.5"}, "timeout", registry_usage);
  check_refused({registry_binary, "4000", "10"}, "<timeout>", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "extra"}, "extra", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--bogus"}, "--bogus", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--hash-cost", "fast"}, "fast",
                registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-prelogin-frame", "65537"},
                "--max-prelogin-frame", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-prelogin-frame", "-1"},
                "--max-prelogin-frame", registry_usage);
  // A queue bound is 0 (off) or holds the largest frames with room to spare.
  check_refused({registry_binary, "4000", "10", "30", "--max-session-queue", "65536"},
                "invalid --max-session-queue '65536': must be 0 or a whole number from 131072",
                registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-session-queue", "4294967296"},
                "--max-session-queue", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-total-queue", "1MiB"},
                "--max-total-queue", registry_usage);
  // SPEC 9.1's login guards: a bucket of no tokens is no budget at all (0 turns the rate off).
  check_refused({registry_binary, "4000", "10", "30", "--login-failures-burst", "0"},
                "--login-failures-burst", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--signups", "many"}, "--signups",
                registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--hash-fairness", "maybe"},
                "--hash-fairness", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--budget-addresses", "0"},
                "--budget-addresses", registry_usage);
  // What may wait for the store: at least one write, at least one largest frame.
  check_refused({registry_binary, "4000", "10", "30", "--max-unanswered-writes", "0"},
                "--max-unanswered-writes", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-held-bytes", "1000"},
                "--max-held-bytes", registry_usage);
  check_refused({registry_binary, "4000", "10", "30", "--max-unwritten-bytes", "lots"},
                "--max-unwritten-bytes", registry_usage);
}

TEST_CASE("cli: the peer refuses bad arguments with one line and the usage and exits 2") {
  check_refused({peer_binary}, "server_port", peer_usage);
  check_refused({peer_binary, "1023"}, "'1023'", peer_usage);
  check_refused({peer_binary, "port"}, "'port'", peer_usage);
  check_refused({peer_binary, "4000", "extra"}, "extra", peer_usage);
  check_refused({peer_binary, "4000", "--bogus"}, "--bogus", peer_usage);
  check_refused({peer_binary, "4000", "--max-chat-handshakes", "0"}, "--max-chat-handshakes '0'",
                peer_usage);
  check_refused({peer_binary, "4000", "--max-chat-handshakes", "4097"}, "--max-chat-handshakes",
                peer_usage);
  check_refused({peer_binary, "4000", "--max-chat-handshakes-per-address", "-1"},
                "--max-chat-handshakes-per-address", peer_usage);
  check_refused({peer_binary, "4000", "--max-chat-handshakes-per-address", "eight"},
                "--max-chat-handshakes-per-address", peer_usage);
}

TEST_CASE("cli: the peer's --help names its listener bounds and their defaults") {
  const auto help = run({peer_binary, "--help"});
  CHECK(help.exit_code == 0);
  INFO(help.out);
  CHECK(help.out.find("--max-chat-handshakes N") != std::string::npos);
  CHECK(help.out.find("(default: 64)") != std::string::npos);
  CHECK(help.out.find("--max-chat-handshakes-per-address N") != std::string::npos);
  CHECK(help.out.find("(default: 8; 0: no bound but the total)") != std::string::npos);
}

TEST_CASE("cli: --help and --version exit 0") {
  for (const auto* binary : {registry_binary, peer_binary}) {
    const std::string name = std::filesystem::path(binary).filename();
    INFO(name);
    const auto help = run({binary, "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--host ADDR") != std::string::npos);
    CHECK(help.out.find("(default: 127.0.0.1)") != std::string::npos);
    // Positionals are shown by name alone: no CLI11 type name such as `server_port TEXT`.
    CHECK(help.out.find("  server_port   ") != std::string::npos);
    CHECK(help.out.find(" TEXT") == std::string::npos);
    const auto version = run({binary, "--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.starts_with(name + " "));
    CHECK(split_lines(version.out).size() == 1);
  }
}

TEST_CASE("cli: a peer that cannot reach the registry says so and exits 1") {
  const auto port = unused_port();
  const auto result = run({peer_binary, std::to_string(port)});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("Error. Cannot connect to the registry at 127.0.0.1:" +
                        std::to_string(port) + ": ") != std::string::npos);
}

TEST_CASE("cli: a corrupt database file is refused and left untouched") {
  // Random bytes, the same at every run.
  std::mt19937 random(3331);
  std::string bytes(16 * 1024, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random() & 0xff);
  const temp_file db("corrupt.db", bytes);
  check_database_refused(db.path());
}

TEST_CASE("cli: a truncated database file is refused and left untouched") {
  std::string bytes;
  {
    registry_fixture registry;
    auto yoda = logged_in_peer(registry, "yoda");
    CHECK(answer_to(*yoda, "message luke Fill a page or two").empty());
    log_out(*yoda);
    registry.stop();
    bytes = read_file(registry.database_path());
  }
  REQUIRE(bytes.size() > 4096);
  // The header survives, most pages do not.
  const temp_file db("truncated.db", std::string_view(bytes).substr(0, bytes.size() / 3));
  check_database_refused(db.path());
}

TEST_CASE("cli: another application's SQLite file is refused and left untouched") {
  const temp_file db("recipes.db");
  make_foreign_database(db.path());
  check_database_refused(db.path());
}

}  // namespace parley::e2e
