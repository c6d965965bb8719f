// The peer's pins of registry keys (peer/tls/known_registries): accept-new, then the same key
// only; the file's place, modes and format, comments and hand edits.
#include "peer/tls/known_registries.hpp"

#include "tests/unit/scratch_dir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace fs = std::filesystem;
using namespace parley::peer::tls;
using kind = known_registries::verdict::kind;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

known_registries loaded(const fs::path& file) {
  std::string error;
  auto known = known_registries::load(file, error);
  INFO(error);
  REQUIRE(known);
  return *known;
}

constexpr const char* key_a = "SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr const char* key_b = "SHA256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

}  // namespace

TEST_CASE("known registries: the first key is pinned, then only it matches") {
  parley::test::scratch_dir dir("parley-pins-test");
  const auto file = dir / "share" / "parley" / "known_registries";
  auto known = loaded(file);
  CHECK(known.check("127.0.0.1:3331", key_a).what == kind::unknown);
  std::string error;
  REQUIRE(known.add("127.0.0.1:3331", key_a, error));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(read_text(file) == std::string("127.0.0.1:3331 ") + key_a + "\n");

  // Read again, as the next run would.
  const auto again = loaded(file);
  CHECK(again.check("127.0.0.1:3331", key_a).what == kind::matches);
  const auto changed = again.check("127.0.0.1:3331", key_b);
  CHECK(changed.what == kind::changed);
  CHECK(changed.pinned == key_a);
  CHECK(changed.line == 1);
  // Another port is another registry.
  CHECK(again.check("127.0.0.1:3332", key_b).what == kind::unknown);
}

TEST_CASE("known registries: addresses, comments, hand edits and unreadable files") {
  CHECK(registry_address("127.0.0.1", 3331) == "127.0.0.1:3331");
  CHECK(registry_address("::1", 3331) == "[::1]:3331");
  CHECK(registry_address("chat.example.org", 443) == "chat.example.org:443");

  parley::test::scratch_dir dir("parley-pins-test");
  const auto file = dir / "known_registries";
  {
    // Written by hand: a comment, a blank line, tabs, a malformed line, no final newline.
    std::ofstream out(file);
    out << "# my registries\n\n[::1]:3331\t" << key_a << "\nnonsense\n127.0.0.1:4000 " << key_b;
  }
  auto known = loaded(file);
  CHECK(known.malformed_lines() == 1);
  CHECK(known.check("[::1]:3331", key_a).what == kind::matches);
  CHECK(known.check("127.0.0.1:4000", key_b).line == 5);
  std::string error;
  REQUIRE(known.add("10.0.0.1:3331", key_a, error));
  // The new pin is a line of its own.
  CHECK(loaded(file).check("10.0.0.1:3331", key_a).what == kind::matches);
  CHECK(loaded(file).check("127.0.0.1:4000", key_b).what == kind::matches);

  SUBCASE("a folder where the file should be cannot be read") {
    fs::create_directories(dir / "folder");
    std::string why;
    CHECK_FALSE(known_registries::load(dir / "folder", why));
    CHECK_FALSE(why.empty());
  }
  SUBCASE("the place from the environment") {
    const char* old_xdg = std::getenv("XDG_DATA_HOME");
    const std::string saved = old_xdg ? old_xdg : "";
    ::setenv("XDG_DATA_HOME", (dir / "xdg").c_str(), 1);
    CHECK(known_registries_path() == dir / "xdg" / "parley" / "known_registries");
    // A relative XDG_DATA_HOME is ignored, as the XDG specification says.
    ::setenv("XDG_DATA_HOME", "relative", 1);
    CHECK(known_registries_path().string().find("/.local/share/parley/known_registries") !=
          std::string::npos);
    if (old_xdg)
      ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
    else
      ::unsetenv("XDG_DATA_HOME");
  }
}
