// The hash pool's order of work (SPEC 9.1): turns between addresses, bounds, cancellation.
// The queue alone, step by step: no threads, so every order is deterministic.
#include "registry/auth/hash_queue.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace parley::registry {
namespace {

queued_job_ptr job(session_id session, const std::string& address) {
  auto j = std::make_unique<queued_job>();
  j->job.session = session;
  j->job.address = address;
  j->job.password = "secret";
  return j;
}

hash_queue::admission push(hash_queue& q, session_id session, const std::string& address) {
  auto j = job(session, address);
  return q.push(j);
}

// Runs the queue dry one job at a time, as one pool thread would; the sessions in run order.
std::vector<session_id> run_all(hash_queue& q) {
  std::vector<session_id> order;
  while (auto j = q.next()) {
    order.push_back(j->job.session);
    q.finished(j->job.address);
  }
  return order;
}

using sessions = std::vector<session_id>;

TEST_CASE("hash queue: addresses take turns, not jobs") {
  hash_queue q({});
  // A flood from one address, then one login each from two others.
  for (session_id s = 1; s <= 4; ++s)
    REQUIRE(push(q, s, "10.0.0.66") == hash_queue::admission::queued);
  REQUIRE(push(q, 10, "10.0.0.1") == hash_queue::admission::queued);
  REQUIRE(push(q, 20, "10.0.0.2") == hash_queue::admission::queued);
  CHECK(q.waiting() == 6);
  CHECK(run_all(q) == sessions{1, 10, 20, 2, 3, 4});
  CHECK(q.waiting() == 0);

  SUBCASE("without fairness: in order of arrival (the comparison mode)") {
    hash_queue fifo({0, 0, false});
    for (session_id s = 1; s <= 4; ++s)
      REQUIRE(push(fifo, s, "10.0.0.66") == hash_queue::admission::queued);
    REQUIRE(push(fifo, 10, "10.0.0.1") == hash_queue::admission::queued);
    CHECK(run_all(fifo) == sessions{1, 2, 3, 4, 10});
  }
}

TEST_CASE("hash queue: one job per address runs at a time") {
  hash_queue q({});
  push(q, 1, "a");
  push(q, 2, "a");
  push(q, 3, "b");
  // Three threads asking: the second job of "a" waits while its first runs.
  auto first = q.next();
  auto second = q.next();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->job.session == 1);
  CHECK(second->job.session == 3);
  CHECK_FALSE(q.next());
  // Once a's job is done, its next one may start; it goes behind any address already waiting.
  push(q, 4, "c");
  q.finished(first->job.address);
  auto third = q.next();
  REQUIRE(third);
  CHECK(third->job.session == 4);
  auto fourth = q.next();
  REQUIRE(fourth);
  CHECK(fourth->job.session == 2);
}

TEST_CASE("hash queue: waiting jobs are bounded in all and per address") {
  hash_queue q({4, 2, true});
  CHECK(push(q, 1, "a") == hash_queue::admission::queued);
  CHECK(push(q, 2, "a") == hash_queue::admission::queued);
  CHECK(push(q, 3, "a") == hash_queue::admission::address_full);
  CHECK(push(q, 4, "b") == hash_queue::admission::queued);
  CHECK(push(q, 5, "c") == hash_queue::admission::queued);
  CHECK(push(q, 6, "d") == hash_queue::admission::queue_full);
  CHECK(q.waiting() == 4);
  // A running job is no longer waiting: its place is free.
  auto running = q.next();
  REQUIRE(running);
  CHECK(push(q, 6, "d") == hash_queue::admission::queued);
  // A refused job stays with the caller, untouched.
  auto refused = job(7, "e");
  CHECK(q.push(refused) == hash_queue::admission::queue_full);
  REQUIRE(refused);
  CHECK(refused->job.password == "secret");

  SUBCASE("0 turns each bound off") {
    hash_queue open({0, 0, true});
    for (session_id s = 1; s <= 2000; ++s)
      REQUIRE(push(open, s, "a") == hash_queue::admission::queued);
    CHECK(open.waiting() == 2000);
  }
}

TEST_CASE("hash queue: the job of a session that has gone never runs") {
  hash_queue q({});
  push(q, 1, "a");
  push(q, 2, "a");
  push(q, 3, "b");
  push(q, 4, "c");
  CHECK(q.cancel(2) == 1);
  CHECK(q.cancel(3) == 1);
  CHECK(q.cancel(3) == 0);
  CHECK(q.waiting() == 2);
  CHECK(run_all(q) == sessions{1, 4});

  SUBCASE("a running job cannot be taken back, and its address's next job still waits its turn") {
    push(q, 5, "a");
    push(q, 6, "a");
    auto running = q.next();
    REQUIRE(running);
    CHECK(q.cancel(5) == 0);
    q.finished(running->job.address);
    CHECK(run_all(q) == sessions{6});
  }
  SUBCASE("an address whose every job was cancelled loses its turn") {
    push(q, 7, "a");
    push(q, 8, "b");
    CHECK(q.cancel(7) == 1);
    CHECK(run_all(q) == sessions{8});
    // And gets a new one with its next job.
    push(q, 9, "a");
    CHECK(run_all(q) == sessions{9});
  }
  SUBCASE("without fairness nothing is cancelled") {
    hash_queue fifo({0, 0, false});
    push(fifo, 1, "a");
    CHECK(fifo.cancel(1) == 0);
    CHECK(run_all(fifo) == sessions{1});
  }
}

}  // namespace
}  // namespace parley::registry
