// The hash pool with its real thread and io_context (SPEC 9.1): while one Argon2id job at the
// `interactive` cost runs on the pool's only thread, the jobs submitted meanwhile wait, so their
// order, refusals and cancellations are deterministic.
#include "registry/auth/hash_pool.hpp"

#include "registry/auth/password_hash.hpp"

#include <doctest/doctest.h>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace parley::registry {
namespace {

using namespace std::chrono_literals;

hash_job create_job(session_id session, const std::string& address) {
  hash_job job;
  job.session = session;
  job.ticket = session;
  job.what = hash_job::kind::create;
  job.password = "password" + std::to_string(session);
  job.address = address;
  return job;
}

struct pool_run {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::vector<hash_done> answers;

  void submit(hash_pool& pool, hash_job job) {
    pool.submit(std::move(job), [this](hash_done done) { answers.push_back(std::move(done)); });
  }
  // Runs the io_context until `count` answers have come.
  void wait_for(std::size_t count) {
    while (answers.size() < count) io.run_one();
  }
  std::vector<session_id> order() const {
    std::vector<session_id> ids;
    for (const auto& a : answers) ids.push_back(a.session);
    return ids;
  }
};

// Submits the first job and waits until the pool's thread has taken it: from then on it runs
// for tens of milliseconds, and whatever is submitted meanwhile waits.
void occupy(pool_run& run, hash_pool& pool, session_id session, const std::string& address) {
  run.submit(pool, create_job(session, address));
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (pool.waiting() != 0) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    std::this_thread::yield();
  }
}

using sessions = std::vector<session_id>;

TEST_CASE("hash pool: addresses take turns, and a job over the bounds is answered refused") {
  REQUIRE(auth::initialize());
  pool_run run;
  hash_pool pool(run.io, 1, auth::hash_cost::interactive, {16, 2, true});
  occupy(run, pool, 1, "10.0.0.66");
  run.submit(pool, create_job(2, "10.0.0.66"));
  run.submit(pool, create_job(3, "10.0.0.66"));
  // The attacker's line holds two: the third is refused at once, without a hash.
  run.submit(pool, create_job(4, "10.0.0.66"));
  run.submit(pool, create_job(10, "10.0.0.1"));
  run.wait_for(5);
  // The refusal comes first (no hashing), then the running job, then the other address, whose
  // turn comes before the attacker's next job.
  CHECK(run.order() == sessions{4, 1, 10, 2, 3});
  CHECK(run.answers[0].refused);
  CHECK_FALSE(run.answers[0].ok);
  CHECK(run.answers[0].hash.empty());
  for (std::size_t i = 1; i < run.answers.size(); ++i) {
    CHECK_FALSE(run.answers[i].refused);
    CHECK(run.answers[i].ok);
    CHECK(auth::verify_password(run.answers[i].hash,
                                "password" + std::to_string(run.answers[i].session)));
  }
}

TEST_CASE("hash pool: the job of a session that has gone never runs") {
  REQUIRE(auth::initialize());
  pool_run run;
  hash_pool pool(run.io, 1, auth::hash_cost::interactive);
  occupy(run, pool, 1, "10.0.0.66");
  run.submit(pool, create_job(2, "10.0.0.66"));
  run.submit(pool, create_job(3, "10.0.0.66"));
  CHECK(pool.waiting() == 2);
  pool.cancel(2);
  CHECK(pool.waiting() == 1);
  // A running job cannot be taken back: its answer still comes (the core ignores it).
  pool.cancel(1);
  run.wait_for(2);
  CHECK(run.order() == sessions{1, 3});
  // Nothing else is on its way.
  CHECK(pool.waiting() == 0);
}

TEST_CASE("hash pool: without fairness, jobs run in order of arrival and none is cancelled") {
  REQUIRE(auth::initialize());
  pool_run run;
  hash_pool pool(run.io, 1, auth::hash_cost::test, {0, 0, false});
  // At test cost the jobs are quick, and with one thread they run and answer in order.
  for (session_id s = 1; s <= 4; ++s) run.submit(pool, create_job(s, "10.0.0.66"));
  run.submit(pool, create_job(10, "10.0.0.1"));
  pool.cancel(3);
  run.wait_for(5);
  CHECK(run.order() == sessions{1, 2, 3, 4, 10});
}

TEST_CASE("hash pool: a locked account's check is never rehashed") {
  REQUIRE(auth::initialize());
  const auto cheap = auth::hash_password("force", auth::hash_cost::test);
  REQUIRE(cheap);
  pool_run run;
  hash_pool pool(run.io, 1, auth::hash_cost::interactive);
  hash_job job;
  job.session = 1;
  job.what = hash_job::kind::verify;
  job.password = "force";
  job.stored_hash = *cheap;
  job.address = "10.0.0.1";
  job.rehash = false;
  run.submit(pool, job);
  job.session = 2;
  job.rehash = true;
  run.submit(pool, job);
  run.wait_for(2);
  CHECK(run.answers[0].ok);
  CHECK(run.answers[0].hash.empty());
  CHECK(run.answers[1].ok);
  CHECK_FALSE(run.answers[1].hash.empty());
}

}  // namespace
}  // namespace parley::registry
