// SPEC 11 in the registry core: resume tickets, the resume window, what a suspended session is
// sent, a password login replacing it, restarts, and the guards of resume_session.
#include "registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace parley;
using namespace parley::registry;
using namespace parley::registry::testing;
using namespace std::chrono_literals;

namespace {

using proto::resume_result;
using proto::user_query;

// The inbox without its session_ticket, and the ticket (the last one) taken out of it.
struct split_inbox {
  messages rest;
  std::optional<proto::resume_ticket> ticket;
};
split_inbox split(messages got) {
  split_inbox out;
  for (auto& m : got) {
    if (const auto* t = std::get_if<proto::session_ticket>(&m))
      out.ticket = t->ticket;
    else
      out.rest.push_back(std::move(m));
  }
  return out;
}

proto::server_message resumed(resume_result r) { return proto::resume_reply{r}; }

struct fixture {
  harness h{harness::resume_config()};
  fixture() {
    h.seed_account("yoda", "wise");
    h.seed_account("luke", "jedi");
    h.seed_account("leia", "rebel");
  }
  // Logged in, its ticket kept; the inbox emptied.
  session_id log_in(const std::string& name, const std::string& password,
                    std::optional<proto::resume_ticket>& ticket) {
    const session_id id = h.login_as(name, password, true);
    const auto got = split(h.take(id));
    REQUIRE(got.rest.size() >= 2);
    CHECK(got.rest.front() == login(proto::login_result::welcome));
    REQUIRE(got.ticket);
    ticket = got.ticket;
    return id;
  }
  // yoda and luke logged in, yoda told of luke; then yoda's connection is lost.
  struct waiting_pair {
    session_id yoda, luke;
    std::optional<proto::resume_ticket> yoda_ticket, luke_ticket;
  };
  waiting_pair yoda_waiting() {
    waiting_pair p;
    p.yoda = log_in("yoda", "wise", p.yoda_ticket);
    p.luke = log_in("luke", "jedi", p.luke_ticket);
    h.take(p.yoda);
    h.disconnect(p.yoda);
    return p;
  }
  session_id resume(const std::string& name, const proto::resume_ticket& ticket,
                    const std::string& address = "127.0.0.1") {
    const session_id id = h.hello(address);
    h.send(id, proto::private_listen{40100});
    h.send(id, proto::resume_session{name, ticket});
    return id;
  }
};

}  // namespace

TEST_CASE("resume: the ticket comes after the welcome, and a resume in time announces nothing") {
  fixture f;
  std::optional<proto::resume_ticket> yoda_ticket, luke_ticket;
  const auto yoda = f.log_in("yoda", "wise", yoda_ticket);
  const auto luke = f.log_in("luke", "jedi", luke_ticket);
  CHECK(f.h.take(yoda) == messages{presence("luke", true)});
  CHECK(*yoda_ticket != *luke_ticket);

  f.h.disconnect(yoda);
  f.h.advance(2900ms);
  f.h.tick();
  // Nobody is told; whoelse still lists yoda.
  CHECK(f.h.take(luke).empty());
  f.h.send(luke, proto::who_else{});
  CHECK(f.h.take(luke) == messages{names(user_query::whoelse, {"yoda"})});

  const auto again = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(again) == messages{resumed(resume_result::resumed), mailbox_end()});
  CHECK(f.h.registry().logged_in(again));
  CHECK(f.h.registry().user_of(again) == "yoda");
  f.h.advance(10s);
  f.h.tick();
  CHECK(f.h.take(luke).empty());
  // The session goes on: a message reaches it, and its commands work.
  f.h.send(luke, proto::direct_message{"yoda", "welcome back"});
  CHECK(f.h.take(again) ==
        messages{delivery("luke", "welcome back", proto::delivery_kind::direct)});
  CHECK(f.h.take(luke) == messages{reply(proto::outcome::message_delivered)});
  f.h.send(again, proto::who_else{});
  CHECK(f.h.take(again) == messages{names(user_query::whoelse, {"luke"})});
  // The ticket stays the session's: a second loss is resumed the same way.
  f.h.disconnect(again);
  const auto third = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(third) == messages{resumed(resume_result::resumed), mailbox_end()});
  CHECK(f.h.take(luke).empty());
}

TEST_CASE("resume: a window that ends is announced then, and the ticket logs in again after it") {
  fixture f;
  const auto [yoda, luke, yoda_ticket, luke_ticket] = f.yoda_waiting();
  f.h.advance(2999ms);
  f.h.tick();
  CHECK(f.h.take(luke).empty());
  f.h.advance(1ms);
  f.h.tick();
  CHECK(f.h.take(luke) == messages{presence("yoda", false)});
  // whoelsesince sees the logout at the window's end.
  f.h.send(luke, proto::who_else{});
  CHECK(f.h.take(luke) == messages{reply(proto::outcome::no_other_users_online)});

  f.h.advance(60s);
  const auto again = f.resume("yoda", *yoda_ticket);
  const auto got = split(f.h.take(again));
  CHECK(got.rest == messages{resumed(resume_result::relogged), mailbox_end()});
  // A new session, with a new ticket, announced like a login.
  REQUIRE(got.ticket);
  CHECK(*got.ticket != *yoda_ticket);
  CHECK(f.h.take(luke) == messages{presence("yoda", true)});
  // The old ticket is spent.
  f.h.disconnect(again);
  f.h.advance(5s);
  f.h.tick();
  CHECK(f.h.take(luke) == messages{presence("yoda", false)});
  const auto old = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(old) == messages{resumed(resume_result::not_resumable)});
  CHECK(f.h.end_of(old) == end_cause::not_resumable);
}

TEST_CASE("resume: past its lifetime an ended session's ticket is refused") {
  fixture f;
  std::optional<proto::resume_ticket> ticket;
  const auto yoda = f.log_in("yoda", "wise", ticket);
  f.h.disconnect(yoda);
  f.h.advance(3s);
  f.h.tick();
  f.h.advance(300s);
  const auto late = f.resume("yoda", *ticket);
  CHECK(f.h.take(late) == messages{resumed(resume_result::not_resumable)});
}

TEST_CASE("resume: frames for a waiting session follow the answer; a direct message is stored") {
  fixture f;
  const auto [yoda, luke, yoda_ticket, luke_ticket] = f.yoda_waiting();
  f.h.send(luke, proto::broadcast_message{"anyone there"});
  CHECK(f.h.take(luke) == messages{reply(proto::outcome::broadcast_sent)});
  f.h.send(luke, proto::direct_message{"yoda", "are you back"});
  // Stored, as for an offline user: it outlives the window if it ends.
  CHECK(f.h.take(luke) == messages{reply(proto::outcome::message_stored)});
  std::optional<proto::resume_ticket> leia_ticket;
  const auto leia = f.log_in("leia", "rebel", leia_ticket);
  (void)leia;
  CHECK(f.h.take(luke) == messages{presence("leia", true)});

  const auto again = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(again) ==
        messages{resumed(resume_result::resumed),
                 delivery("luke", "anyone there", proto::delivery_kind::broadcast),
                 presence("leia", true), stored("luke", "are you back"), mailbox_end()});
}

TEST_CASE("resume: a wrong ticket, another user's, or a logged-out session's is refused") {
  fixture f;
  const auto [yoda, luke, yoda_ticket, luke_ticket] = f.yoda_waiting();

  proto::resume_ticket wrong = *yoda_ticket;
  wrong[0] ^= 1;
  const auto guess = f.resume("yoda", wrong);
  CHECK(f.h.take(guess) == messages{resumed(resume_result::not_resumable)});
  const auto swapped = f.resume("luke", *yoda_ticket);
  CHECK(f.h.take(swapped) == messages{resumed(resume_result::not_resumable)});
  const auto nobody = f.resume("vader", *yoda_ticket);
  CHECK(f.h.take(nobody) == messages{resumed(resume_result::not_resumable)});
  // The refusals changed nothing: yoda resumes; luke was told nothing.
  const auto again = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(again) == messages{resumed(resume_result::resumed), mailbox_end()});
  CHECK(f.h.take(luke).empty());

  // A logout ends the session for good (SPEC 11).
  f.h.send(again, proto::logout_request{});
  f.h.take(again);
  const auto after_logout = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(after_logout) == messages{resumed(resume_result::not_resumable)});
  // So does an inactivity timeout.
  f.h.advance(600s);
  f.h.tick();
  CHECK(f.h.take(luke).back() == ended(proto::end_reason::inactivity));
  const auto after_timeout = f.resume("luke", *luke_ticket);
  CHECK(f.h.take(after_timeout) == messages{resumed(resume_result::not_resumable)});
  // A resume is only the first thing after the hello.
  std::optional<proto::resume_ticket> ticket;
  const auto leia = f.log_in("leia", "rebel", ticket);
  f.h.send(leia, proto::resume_session{"leia", *ticket});
  CHECK(f.h.end_of(leia) == end_cause::protocol_error);
}

TEST_CASE("resume: the idle clock runs on while a session waits") {
  fixture f;
  std::optional<proto::resume_ticket> yoda_ticket, luke_ticket;
  const auto yoda = f.log_in("yoda", "wise", yoda_ticket);
  f.h.advance(599s);
  const auto luke = f.log_in("luke", "jedi", luke_ticket);
  f.h.take(yoda);
  f.h.disconnect(yoda);
  f.h.advance(1s);
  f.h.tick();
  // Timed out inside the window: announced, and the ticket does not log in again.
  CHECK(f.h.take(luke) == messages{presence("yoda", false)});
  const auto late = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(late) == messages{resumed(resume_result::not_resumable)});
}

TEST_CASE("resume: a password login replaces a session waiting for its resume") {
  fixture f;
  const auto [yoda, luke, yoda_ticket, luke_ticket] = f.yoda_waiting();
  const auto fresh = f.h.login_as("yoda", "wise", true);
  const auto got = split(f.h.take(fresh));
  CHECK(got.rest.front() == login(proto::login_result::welcome));
  // Both notices, in order, in one batch.
  CHECK(f.h.take(luke) == messages{presence_changes({"-yoda", "+yoda"})});
  // The waiting session's ticket died with it.
  const auto old = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(old) == messages{resumed(resume_result::not_resumable)});
  // A connected session is still "already logged in" (SPEC 3).
  const auto third = f.h.hello();
  f.h.send(third, proto::login_name{"yoda"});
  CHECK(f.h.take(third) == messages{login(proto::login_result::already_logged_in)});
}

TEST_CASE("resume: a resume takes over a connection the registry still holds") {
  fixture f;
  std::optional<proto::resume_ticket> yoda_ticket, luke_ticket;
  const auto yoda = f.log_in("yoda", "wise", yoda_ticket);
  const auto luke = f.log_in("luke", "jedi", luke_ticket);
  f.h.take(yoda);
  const auto again = f.resume("yoda", *yoda_ticket, "10.0.0.9");
  CHECK(f.h.take(yoda) == messages{ended(proto::end_reason::resumed_elsewhere)});
  CHECK(f.h.end_of(yoda) == end_cause::resumed_elsewhere);
  CHECK(f.h.take(again) == messages{resumed(resume_result::resumed), mailbox_end()});
  CHECK(f.h.take(luke).empty());
  f.h.send(luke, proto::direct_message{"yoda", "hi"});
  CHECK(f.h.take(again) == messages{delivery("luke", "hi", proto::delivery_kind::direct)});
}

TEST_CASE("resume: a chat request waiting for a session outlives its loss") {
  fixture f;
  std::optional<proto::resume_ticket> yoda_ticket, luke_ticket;
  const auto yoda = f.log_in("yoda", "wise", yoda_ticket);
  f.h.send(yoda, proto::private_listen{40001});
  const auto luke = f.log_in("luke", "jedi", luke_ticket);
  f.h.take(yoda);
  f.h.disconnect(yoda);
  f.h.send(luke, proto::private_invite{"yoda", {}});
  CHECK(f.h.take(luke) == messages{reply(proto::outcome::private_requested)});
  const auto again = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(again) == messages{resumed(resume_result::resumed), offer("luke"), mailbox_end()});
  f.h.send(again, proto::private_consent{"luke", {}});
  const auto granted = f.h.take(luke);
  REQUIRE(granted.size() == 1);
  const auto* grant = std::get_if<proto::private_granted_keyed>(&granted.front());
  REQUIRE(grant);
  // The port the new connection announced.
  CHECK(grant->port == 40100);
}

TEST_CASE("resume: after a restart the sessions come back silently, the rest at the window's end") {
  fixture f;
  std::optional<proto::resume_ticket> yoda_ticket, luke_ticket, leia_ticket;
  bool clean = false;
  SUBCASE("stopped with SIGTERM") { clean = true; }
  SUBCASE("killed") { clean = false; }
  CAPTURE(clean);
  const auto yoda = f.log_in("yoda", "wise", yoda_ticket);
  const auto luke = f.log_in("luke", "jedi", luke_ticket);
  f.log_in("leia", "rebel", leia_ticket);
  f.h.clear_inboxes();
  if (clean) {
    // SIGTERM: every session is told it may resume.
    f.h.shutdown();
    CHECK(f.h.take(yoda) == messages{ended(proto::end_reason::shutdown_resumable)});
    CHECK(f.h.end_of(luke) == end_cause::shutdown_resumable);
  }
  // (kill -9: the core is gone without a word; its rows are as they were.)
  f.h.restart();
  f.h.advance(20s);
  f.h.start();
  CHECK(f.h.registry().online_users() == 3);
  const auto yoda2 = f.resume("yoda", *yoda_ticket);
  CHECK(f.h.take(yoda2) == messages{resumed(resume_result::resumed), mailbox_end()});
  f.h.advance(5s);
  const auto luke2 = f.resume("luke", *luke_ticket);
  CHECK(f.h.take(luke2) == messages{resumed(resume_result::resumed), mailbox_end()});
  CHECK(f.h.take(yoda2).empty());
  // whoelse lists leia, who has not come back yet.
  f.h.send(yoda2, proto::who_else{});
  CHECK(f.h.take(yoda2) == messages{names(user_query::whoelse, {"leia", "luke"})});
  f.h.advance(10s);
  f.h.tick();
  CHECK(f.h.take(yoda2) == messages{presence("leia", false)});
  CHECK(f.h.take(luke2) == messages{presence("leia", false)});
  // leia's ticket now logs her in again, announced.
  const auto leia2 = f.resume("leia", *leia_ticket);
  CHECK(split(f.h.take(leia2)).rest == messages{resumed(resume_result::relogged), mailbox_end()});
  CHECK(f.h.take(yoda2) == messages{presence("leia", true)});
}

TEST_CASE("resume: with the windows at 0 no ticket is issued and a loss is a logout") {
  core_config config = harness::resume_config();
  config.resume.resume_grace = 0s;
  config.resume.restart_grace = 0s;
  config.resume.ticket_lifetime = 0s;
  harness h(config);
  h.seed_account("yoda", "wise");
  h.seed_account("luke", "jedi");
  const auto yoda = h.login_as("yoda", "wise", true);
  CHECK(h.take(yoda) == welcomed());
  const auto luke = h.login_as("luke", "jedi");
  h.take(yoda);
  h.disconnect(yoda);
  CHECK(h.take(luke) == messages{presence("yoda", false)});
}

TEST_CASE("resume: a wrong ticket spends a failed-login token; a right one needs none") {
  core_config config = harness::resume_config();
  config.login_failures = budget_rate{1, std::chrono::minutes(1), 2};
  harness h(config);
  h.seed_account("yoda", "wise");
  h.seed_account("luke", "jedi");
  const auto yoda = h.login_as("yoda", "wise", true);
  const auto ticket = split(h.take(yoda)).ticket;
  REQUIRE(ticket);
  h.disconnect(yoda);
  proto::resume_ticket wrong{};
  for (int i = 0; i < 3; ++i) {
    const auto id = h.hello();
    h.send(id, proto::resume_session{"yoda", wrong});
    CHECK(h.take(id) == messages{resumed(resume_result::not_resumable)});
  }
  // The bucket is empty: a password is not even checked ...
  const auto guesser = h.hello();
  h.send(guesser, proto::login_name{"luke"});
  h.take(guesser);
  h.send(guesser, proto::login_password{"jedi"});
  CHECK(h.take(guesser) == messages{login(proto::login_result::too_many_login_attempts)});
  // ... but the right ticket resumes.
  const auto again = h.hello();
  h.send(again, proto::resume_session{"yoda", *ticket});
  CHECK(h.take(again) == messages{resumed(resume_result::resumed), mailbox_end()});
}

TEST_CASE("resume: too much held for a waiting session ends its window") {
  core_config config = harness::resume_config();
  config.max_held_bytes = 64 * 1024;
  harness h(config);
  h.seed_account("yoda", "wise");
  h.seed_account("luke", "jedi");
  const auto yoda = h.login_as("yoda", "wise", true);
  const auto ticket = split(h.take(yoda)).ticket;
  const auto luke = h.login_as("luke", "jedi");
  h.take(yoda);
  h.disconnect(yoda);
  const std::string text(4000, 'x');
  for (int i = 0; i < 20; ++i) h.send(luke, proto::broadcast_message{text});
  const auto got = h.take(luke);
  CHECK(std::count(got.begin(), got.end(), presence("yoda", false)) == 1);
  // Its window ended: the ticket logs in again, announced.
  const auto again = h.hello();
  h.send(again, proto::resume_session{"yoda", *ticket});
  CHECK(split(h.take(again)).rest == messages{resumed(resume_result::relogged), mailbox_end()});
}

TEST_CASE(
    "resume: a login not yet announced (its mailbox being read) is announced after a resume") {
  core_config config = harness::resume_config();
  // One stored message a page: the second page waits for the first's confirmation.
  config.mailbox_page_rows = 1;
  harness h(config);
  h.seed_account("yoda", "wise");
  h.seed_account("luke", "jedi");
  const auto luke = h.login_as("luke", "jedi");
  h.send(luke, proto::direct_message{"yoda", "one"});
  h.send(luke, proto::direct_message{"yoda", "two"});
  h.take(luke);
  // yoda's peer does not confirm: its mailbox is still being read, and nobody has been told of
  // the login.
  h.auto_confirm = false;
  const auto yoda = h.login_as("yoda", "wise", true);
  const auto got = split(h.take(yoda));
  REQUIRE(got.ticket);
  CHECK(h.take(luke).empty());
  // Its link is still there as far as the registry knows; a new one resumes the session.
  const auto again = h.hello("10.0.0.9");
  h.auto_confirm = true;
  h.send(again, proto::resume_session{"yoda", *got.ticket});
  CHECK(h.take(yoda) == messages{ended(proto::end_reason::resumed_elsewhere)});
  CHECK(h.take(again) == messages{resumed(resume_result::resumed), stored("luke", "one"),
                                  stored("luke", "two"), mailbox_end()});
  CHECK(h.take(luke) == messages{presence("yoda", true)});
}
