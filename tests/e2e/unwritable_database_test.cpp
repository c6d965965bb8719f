// SPEC 9: a database the registry cannot write (a read-only file, a read-only folder, an
// immutable file) is refused at start-up like a corrupt one: the registry names the file and the
// problem, exits 1, and leaves the file byte for byte as it was (no -wal or -shm beside it
// either). Before this check it started without a word, and every durable write then failed.
//
// Root writes whatever the permission bits say, so when the tests run as root the registry runs
// as `nobody` (setpriv) for the chmod cases, after a control run that shows this user can run
// and write there when the bits allow it. The immutable attribute stops root too; it needs root
// to set and a filesystem that has it, else that case is skipped with the reason.
#include "tests/e2e/harness.hpp"
#include "tests/support/immutable_flag.hpp"

#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::e2e {

namespace {

namespace fs = std::filesystem;

constexpr const char* setpriv_binary = "/usr/bin/setpriv";

// Who the registry runs as so that permission bits bite: this process when it is not root, else
// `nobody` through setpriv. `skip` says why neither is possible.
struct unprivileged {
  std::vector<std::string> prefix;  // put before the registry's argv
  uid_t uid = 0;
  gid_t gid = 0;
  std::string skip;
};

unprivileged unprivileged_user() {
  if (::geteuid() != 0) return {{}, ::geteuid(), ::getegid(), ""};
  const auto skipped = [](std::string why) { return unprivileged{{}, 0, 0, std::move(why)}; };
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) return skipped("root, and there is no user nobody to run as");
  if (::access(setpriv_binary, X_OK) != 0)
    return skipped("root, and there is no setpriv(1) to run the registry as nobody");
  return {{setpriv_binary, "--reuid=" + std::to_string(nobody->pw_uid),
           "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups"},
          nobody->pw_uid,
          nobody->pw_gid,
          ""};
}

// The fixture's folder and files handed to `user` (as an operator's own account owns its
// registry's folder); mode 0755, so that it can reach them. Restores 0755 at the end, so that
// the folder can be removed whatever the test left.
class handed_folder {
 public:
  handed_folder(const registry_fixture& registry, const unprivileged& user)
      : folder_(registry.folder()) {
    if (::geteuid() == 0) {
      REQUIRE(::chown(folder_.c_str(), user.uid, user.gid) == 0);
      for (const auto& entry : fs::directory_iterator(folder_))
        REQUIRE(::chown(entry.path().c_str(), user.uid, user.gid) == 0);
    }
    set_mode(folder_, 0755);
  }
  ~handed_folder() { ::chmod(folder_.c_str(), 0755); }
  handed_folder(const handed_folder&) = delete;
  handed_folder& operator=(const handed_folder&) = delete;

  static void set_mode(const fs::path& path, mode_t mode) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }

 private:
  fs::path folder_;
};

// The registry on the fixture's files (the fixture's own registry stopped), `prefix` before it.
std::unique_ptr<child_process> launch_registry(const registry_fixture& registry,
                                               const std::vector<std::string>& prefix = {}) {
  launch_options options;
  options.argv = prefix;
  for (const std::string& arg :
       {std::string(registry_binary), std::to_string(unused_port()), std::string("10"),
        std::string("30"), std::string("--credentials"), registry.credentials_path().string(),
        std::string("--db"), registry.database_path().string(), std::string("--hash-cost"),
        std::string("test")})
    options.argv.push_back(arg);
  options.environment = {{"NO_COLOR", "1"}};
  auto process = std::make_unique<child_process>(options);
  process->close_input();
  return process;
}

// A start that must be refused: exit code 1, `problem` in stderr after the file's name, and the
// file's bytes (if it existed) the same as before; no -wal or -shm file left beside it.
void expect_refused(const registry_fixture& registry, const std::vector<std::string>& prefix,
                    const std::string& problem) {
  const fs::path db = registry.database_path();
  const std::optional<std::string> before =
      fs::exists(db) ? std::optional(read_file(db)) : std::nullopt;
  auto process = launch_registry(registry, prefix);
  const int code = process->wait_exit(registry_start_timeout);
  const std::string& err = process->error_output();
  INFO("stderr: " << err);
  CHECK(code == 1);
  CHECK(err.find("database \"" + db.string() + "\" " + problem) != std::string::npos);
  // The database was refused before anything else ran: no account import, no listening.
  CHECK(err.find("listening on") == std::string::npos);
  if (before) {
    CHECK(read_file(db) == *before);
  } else {
    CHECK_FALSE(fs::exists(db));
  }
  CHECK_FALSE(fs::exists(db.string() + "-wal"));
  CHECK_FALSE(fs::exists(db.string() + "-shm"));
}

// The control run: `user` can start the registry here and it writes (a clean stop).
void expect_starts(const registry_fixture& registry, const std::vector<std::string>& prefix) {
  auto process = launch_registry(registry, prefix);
  const bool listening = wait_until(
      [&] {
        process->read_output();
        return process->error_output().find("listening on") != std::string::npos ||
               !process->running();
      },
      registry_start_timeout);
  INFO("stderr: " << process->error_output());
  REQUIRE(listening);
  REQUIRE(process->running());
  process->signal(SIGTERM);
  REQUIRE(process->wait_exit(registry_start_timeout) == 0);
}

}  // namespace

TEST_CASE(
    "unwritable database: a database file of mode 0444 is refused at start-up with exit 1, "
    "named, and left byte for byte as it was") {
  const auto user = unprivileged_user();
  if (!user.skip.empty()) {
    MESSAGE("skipped: " << user.skip);
    return;
  }
  registry_fixture registry;
  registry.stop();
  handed_folder folder(registry, user);
  expect_starts(registry, user.prefix);

  handed_folder::set_mode(registry.database_path(), 0444);
  expect_refused(registry, user.prefix,
                 "cannot be written: the file is read-only (Permission denied; SQLite: attempt "
                 "to write a readonly database)");
}

TEST_CASE(
    "unwritable database: a database in a folder of mode 0555, where SQLite cannot create its "
    "-wal and -shm files, is refused at start-up with exit 1, named, and left as it was") {
  const auto user = unprivileged_user();
  if (!user.skip.empty()) {
    MESSAGE("skipped: " << user.skip);
    return;
  }
  registry_fixture registry;
  registry.stop();
  handed_folder folder(registry, user);
  // The file itself may be written: only the folder stands in the way.
  REQUIRE(fs::status(registry.database_path()).permissions() ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
           fs::perms::others_read));
  handed_folder::set_mode(registry.folder(), 0555);
  expect_refused(registry, user.prefix,
                 "cannot be written: its folder \"" + registry.folder().string() +
                     "\" is read-only (Permission denied; SQLite must create its -wal and -shm "
                     "files there; SQLite: ");
}

TEST_CASE(
    "unwritable database: a new database in a folder of mode 0555 cannot be created: exit 1, "
    "the file and the folder named") {
  const auto user = unprivileged_user();
  if (!user.skip.empty()) {
    MESSAGE("skipped: " << user.skip);
    return;
  }
  registry_fixture registry;
  registry.stop();
  fs::remove(registry.database_path());
  handed_folder folder(registry, user);
  handed_folder::set_mode(registry.folder(), 0555);
  expect_refused(registry, user.prefix,
                 "cannot be created: its folder \"" + registry.folder().string() +
                     "\" is read-only (Permission denied; SQLite: unable to open database file)");
}

TEST_CASE(
    "unwritable database: an immutable database file (chattr +i) stops even a registry run by "
    "root: exit 1, named, left as it was") {
  registry_fixture registry;
  registry.stop();
  parley::testing::immutable_scope immutable(registry.database_path());
  if (!immutable.active()) {
    MESSAGE("skipped: cannot make a file immutable here ("
            << immutable.error() << "; needs root and a filesystem such as ext4)");
    return;
  }
  expect_refused(registry, {},
                 "cannot be written: the file is read-only (Operation not permitted; SQLite: "
                 "attempt to write a readonly database)");
}

}  // namespace parley::e2e
