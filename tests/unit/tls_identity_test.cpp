// The registry's TLS identity (registry/tls/identity): made once beside the database, the key
// 0600, loaded again with the same fingerprint; the operator's pair loaded as it is; a missing
// half, a broken file or a key of another certificate refused with the file's name.
#include "registry/tls/identity.hpp"

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
using namespace parley::registry::tls;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

identity made(const fs::path& database) {
  auto result =
      load_or_create(default_certificate_path(database), default_key_path(database), true);
  INFO(result.error);
  REQUIRE(result.found);
  return *result.found;
}

}  // namespace

TEST_CASE("tls identity: made on first start beside the database, the same ever after") {
  parley::test::scratch_dir dir("parley-tls-test");
  const auto database = dir / "registry.db";
  const identity first = made(database);
  CHECK(first.created);
  CHECK(first.key == dir / "registry.db.tls-key.pem");
  CHECK(first.certificate == dir / "registry.db.tls-cert.pem");
  // "SHA256:" and 43 characters of unpadded base64 (32 bytes).
  CHECK(first.fingerprint.rfind("SHA256:", 0) == 0);
  CHECK(first.fingerprint.size() == 7 + 43);
  struct stat key_stat {};
  REQUIRE(::stat(first.key.c_str(), &key_stat) == 0);
  CHECK((key_stat.st_mode & 0777) == 0600);
  CHECK(read_text(first.key).find("BEGIN PRIVATE KEY") != std::string::npos);
  CHECK(read_text(first.certificate).find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK_FALSE(fs::exists(first.key.string() + ".new"));
  // The fingerprint is the certificate's key's.
  CHECK(fingerprint_of_certificate_pem(read_text(first.certificate)) == first.fingerprint);

  const identity again = made(database);
  CHECK_FALSE(again.created);
  CHECK(again.fingerprint == first.fingerprint);
  CHECK(read_text(again.key) == read_text(first.key));

  // Another database gets another key.
  CHECK(made(dir / "other.db").fingerprint != first.fingerprint);
}

TEST_CASE("tls identity: the operator's pair, and what is refused") {
  parley::test::scratch_dir dir("parley-tls-test");
  const identity a = made(dir / "a.db");
  const identity b = made(dir / "b.db");

  SUBCASE("given paths load as they are, and are never made") {
    auto loaded = load_or_create(a.certificate, a.key, false);
    REQUIRE(loaded.found);
    CHECK(loaded.found->fingerprint == a.fingerprint);
    auto absent = load_or_create(dir / "none.pem", dir / "none.key", false);
    CHECK_FALSE(absent.found);
    CHECK(absent.error.find("none.key") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "none.key"));
  }
  SUBCASE("a key that is not the certificate's") {
    auto mixed = load_or_create(a.certificate, b.key, false);
    CHECK_FALSE(mixed.found);
    CHECK(mixed.error.find("is not the key of certificate") != std::string::npos);
  }
  SUBCASE("a key whose certificate is gone gets a new one, and keeps its fingerprint") {
    fs::remove(a.certificate);
    auto completed = load_or_create(a.certificate, a.key, true);
    INFO(completed.error);
    REQUIRE(completed.found);
    CHECK(completed.found->fingerprint == a.fingerprint);
    CHECK(fs::exists(a.certificate));
    // Not the operator's pair: without `create`, a missing certificate is an error.
    fs::remove(b.certificate);
    auto operators = load_or_create(b.certificate, b.key, false);
    CHECK_FALSE(operators.found);
    CHECK(operators.error.find(b.certificate.string()) != std::string::npos);
    CHECK_FALSE(fs::exists(b.certificate));
  }
  SUBCASE("a certificate whose key is gone is not replaced") {
    fs::remove(a.key);
    auto half = load_or_create(a.certificate, a.key, true);
    CHECK_FALSE(half.found);
    CHECK(half.error.find(a.key.string()) != std::string::npos);
    CHECK(half.error.find("to have a new pair made") != std::string::npos);
    CHECK_FALSE(fs::exists(a.key));
  }
  SUBCASE("a key others may read") {
    fs::permissions(a.key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
    auto exposed = load_or_create(a.certificate, a.key, true);
    CHECK_FALSE(exposed.found);
    CHECK(exposed.error.find("may be read by others (mode 0644)") != std::string::npos);
    CHECK(exposed.error.find(a.key.string()) != std::string::npos);
  }
  SUBCASE("a leftover temporary of a crash does not stop the next creation") {
    const auto database = dir / "c.db";
    std::ofstream(default_key_path(database).string() + ".new") << "half a key";
    const identity c = made(database);
    CHECK(c.created);
    CHECK_FALSE(fs::exists(default_key_path(database).string() + ".new"));
  }
  SUBCASE("a file that is not PEM") {
    write_text(a.key, "not a key\n");
    auto broken = load_or_create(a.certificate, a.key, true);
    CHECK_FALSE(broken.found);
    CHECK(broken.error.find("cannot be read as a PEM key") != std::string::npos);
    CHECK(fingerprint_of_certificate_pem("not a certificate") == "");
  }
}
