// libFuzzer target for the registry's start-up read of its database (SPEC 9): any bytes, written
// to a file, are opened the way the registry opens its --db at start-up (sqlite_store::open, the
// closing of sessions a crash left open, load()), then written to a little. Properties:
// - nothing crashes, and no exception other than storage_error comes out of load();
// - open() either gives a store or refuses with a message that starts with the file's name;
// - a refused file (by open(), or by a load() that throws) is left byte for byte as it was, with
//   no -wal, -shm or -journal file beside it;
// - a store that opened takes writes that report failure as a value (and reads that fail with
//   storage_error at worst).
// The file lives in a folder of its own, on /dev/shm when there is one (no disk I/O per input).
#include "registry/core/storage.hpp"
#include "registry/store/sqlite_store.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

namespace fs = std::filesystem;
using namespace parley::registry;

namespace {

void require(bool holds, const char* what, const std::string& detail = {}) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: property broken: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

// The folder of this process's database file, removed at exit.
class scratch_folder {
 public:
  scratch_folder() {
    std::error_code ec;
    const fs::path base =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "parley-fuzz-loader-XXXXXX").string();
    require(::mkdtemp(pattern.data()) != nullptr, "a scratch folder can be made");
    folder_ = pattern;
    // The store logs every refused write at error level: a fuzzer's output would drown in it.
    spdlog::set_level(spdlog::level::off);
  }
  ~scratch_folder() {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;

  std::string database() const { return (folder_ / "registry.db").string(); }

  // The database file holding exactly `bytes`, and nothing else in the folder.
  void reset(std::string_view bytes) const {
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(folder_)) fs::remove(entry.path(), ignored);
    std::ofstream out(database(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    require(out.good(), "the input can be written to the database file");
  }

  std::string read_database() const {
    std::ifstream in(database(), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  bool has_side_files() const {
    const std::string db = database();
    return fs::exists(db + "-wal") || fs::exists(db + "-shm") || fs::exists(db + "-journal");
  }

 private:
  fs::path folder_;
};

const scratch_folder& scratch() {
  static const scratch_folder folder;
  return folder;
}

const time_point now = from_unix_ms(1'700'000'000'000);

void require_untouched(const scratch_folder& folder, std::string_view bytes, const char* when) {
  require(folder.read_database() == bytes, when, "the file was changed");
  require(!folder.has_side_files(), when, "SQLite's files were left beside it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const scratch_folder& folder = scratch();
  folder.reset(bytes);
  const std::string path = folder.database();

  auto opened = sqlite_store::open(path);
  if (!opened.store) {
    require(!opened.error.empty(), "a refusal says why");
    require(opened.error.starts_with("database \"" + path + "\" "), "a refusal names the file",
            opened.error);
    require_untouched(folder, bytes, "a file open() refused");
    return 0;
  }
  require(opened.error.empty(), "an opened store comes without an error");
  sqlite_store& store = *opened.store;

  // As main() does: the load of the account import and of the core, then the first write.
  try {
    store.load();
  } catch (const storage_error&) {
    opened.store.reset();
    require_untouched(folder, bytes, "a file whose load() failed");
    return 0;
  } catch (const std::exception& e) {
    require(false, "load() throws storage_error only", e.what());
  }
  store.close_dangling_logins(now);

  // A file that opened is ours from here on: it holds the schema the statements need.
  try {
    const auto snapshot = store.load();
    const std::string first = snapshot.accounts.empty() ? "yoda" : snapshot.accounts.front().name;
    store.add_account("fuzz-new", "hash", now);
    store.store_offline(first, "fuzz-new", "hello", now);
    store.set_lockout(first, 1, now);
    store.add_block("fuzz-new", first);
    store.record_login(first, now);
    store.record_logout(first, now);
    store.count_offline(first);
    if (const auto page = store.read_offline(first, 0, 10, 4096); page && !page->rows.empty())
      store.delete_offline(first, page->rows.back().id);
    store.remove_block("fuzz-new", first);
    store.load();
  } catch (const storage_error&) {
    // A read at run time may meet damage that the start-up reads did not cross: the registry
    // would log it; what matters here is that it is this exception and nothing worse.
  } catch (const std::exception& e) {
    require(false, "the store's writes report failure as a value", e.what());
  }
  return 0;
}
