// A hash made at another cost than the registry's is replaced at the next successful login:
// the pool makes the new hash (hash_pool, with the real io_context and threads), the core
// stores it (registry core, real SQLite store).
#include "registry/auth/hash_pool.hpp"
#include "tests/unit/registry_core_harness.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <optional>

using namespace parley;
using namespace parley::registry;
using namespace parley::registry::testing;

namespace {

// Runs one job on a real pool at `cost` and returns its answer.
hash_done run_on_pool(hash_job job, auth::hash_cost cost) {
  asio::io_context io;
  hash_pool pool(io, 1, cost);
  std::optional<hash_done> answer;
  // The answer is posted to the io_context once the pool thread is done; until then the
  // io_context has no work of its own, and the guard keeps run_one waiting instead of returning.
  auto guard = asio::make_work_guard(io);
  pool.submit(std::move(job), [&](hash_done done) { answer = std::move(done); });
  while (!answer) io.run_one();
  return *answer;
}

hash_job verify_job(const std::string& password, const std::string& stored) {
  return hash_job{1, 1, hash_job::kind::verify, password, stored, "127.0.0.1", true};
}

}  // namespace

TEST_CASE("hash_pool: a matching password with a hash of another cost gets a new hash") {
  REQUIRE(auth::initialize());
  const std::string cheap = seed_hash("force");

  const auto same_cost = run_on_pool(verify_job("force", cheap), auth::hash_cost::test);
  CHECK(same_cost.ok);
  CHECK(same_cost.hash.empty());

  const auto wrong = run_on_pool(verify_job("farce", cheap), auth::hash_cost::interactive);
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.hash.empty());

  const auto upgraded = run_on_pool(verify_job("force", cheap), auth::hash_cost::interactive);
  CHECK(upgraded.ok);
  REQUIRE_FALSE(upgraded.hash.empty());
  CHECK_FALSE(auth::needs_rehash(upgraded.hash, auth::hash_cost::interactive));
  CHECK(auth::verify_password(upgraded.hash, "force"));
}

TEST_CASE("registry core: a new hash from a login replaces the stored one") {
  harness h;
  h.seed_account("yoda", "force");
  const std::string old_hash = h.stored("yoda").password_hash;
  h.hold_hashes = true;
  const auto a = h.hello();
  h.send(a, proto::login_name{"yoda"});
  h.send(a, proto::login_password{"force"});
  REQUIRE(h.held.size() == 1);
  auto done = h.compute(h.held.front());
  h.held.clear();
  REQUIRE(done.ok);
  // As the pool answers when the registry's cost changed.
  const auto fresh = auth::hash_password("force", auth::hash_cost::test);
  REQUIRE(fresh);
  REQUIRE(*fresh != old_hash);
  done.hash = *fresh;
  // The password prompt is not what this test is about.
  h.take(a);
  h.finish_hash(done);
  CHECK(h.take(a).front() == login(proto::login_result::welcome));
  CHECK(h.stored("yoda").password_hash == *fresh);

  // The next login is checked against the new hash, also after a restart.
  h.send(a, proto::logout_request{});
  h.restart();
  h.hold_hashes = true;
  const auto b = h.hello();
  h.send(b, proto::login_name{"yoda"});
  h.send(b, proto::login_password{"force"});
  REQUIRE(h.held.size() == 1);
  CHECK(h.held.front().stored_hash == *fresh);
}
