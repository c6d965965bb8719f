// Registry core, SPEC 7 coalesced: the presence changes of one turn of the shell's loop go out at
// its end (core::on_turn_end), one presence_batch per recipient, and every recipient sees exactly
// what one notice per change would have shown it, in the same order.
#include "tests/unit/registry_core_harness.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace parley::registry {
namespace {

using namespace testing;

harness accounts(const std::vector<std::string>& names) {
  harness h;
  for (const auto& name : names) h.seed_account(name, "pw");
  return h;
}

// Logs `name` in up to its password; with hashes held, the welcome waits for run_held().
session_id start_login(harness& h, const std::string& name) {
  return h.login_as(name, "pw", /*keep_inbox=*/true);
}

// The frames the latest call sent to `to`.
std::vector<proto::frame_ptr> frames_to(const harness& h, session_id to) {
  std::vector<proto::frame_ptr> frames;
  for (const auto& send : h.last.sends)
    if (send.to == to) frames.push_back(send.frame);
  return frames;
}

const proto::server_message welcome = login(proto::login_result::welcome);

}  // namespace

TEST_CASE("registry core: the logins of one turn reach each recipient in one frame") {
  harness h = accounts({"yoda", "obi", "luke", "leia", "han"});
  const auto yoda = h.login_as("yoda", "pw");
  const auto obi = h.login_as("obi", "pw");
  h.clear_inboxes();

  h.end_turns = false;
  h.hold_hashes = true;
  const auto luke = start_login(h, "luke");
  const auto leia = start_login(h, "leia");
  const auto han = start_login(h, "han");
  h.run_held();
  // Nothing is announced before the turn ends; the welcomes are not held back.
  CHECK(h.take(yoda).empty());
  CHECK(h.take(luke) == messages{welcome, mailbox_end()});
  CHECK(h.take(leia) == messages{welcome, mailbox_end()});
  CHECK(h.take(han) == messages{welcome, mailbox_end()});
  REQUIRE(h.registry().turn_end_pending());

  h.end_turn();
  CHECK_FALSE(h.registry().turn_end_pending());
  CHECK(h.take(yoda) == messages{presence_changes({"+luke", "+leia", "+han"})});
  CHECK(h.take(obi) == messages{presence_changes({"+luke", "+leia", "+han"})});
  // Those online all turn share one encoding.
  REQUIRE(frames_to(h, yoda).size() == 1);
  CHECK(frames_to(h, yoda) == frames_to(h, obi));
  // The newcomers share it too: their peers show only what follows their own login in it
  // (peer core test "a presence batch ...").
  CHECK(frames_to(h, luke) == frames_to(h, yoda));
  CHECK(frames_to(h, leia) == frames_to(h, yoda));
  // The last newcomer has nothing to hear, and gets nothing.
  CHECK(frames_to(h, han).empty());

  // The next turn has nothing left to send.
  h.end_turn();
  CHECK(h.last.sends.empty());
}

TEST_CASE(
    "registry core: a coalesced turn leaves out the changes of users who block the recipient") {
  harness h = accounts({"yoda", "obi", "luke", "leia"});
  const auto yoda = h.login_as("yoda", "pw");
  const auto obi = h.login_as("obi", "pw");
  auto luke = h.login_as("luke", "pw");
  h.send(luke, proto::block_user{"yoda"});
  h.send(luke, proto::logout_request{});
  h.clear_inboxes();

  h.end_turns = false;
  h.hold_hashes = true;
  luke = start_login(h, "luke");
  const auto leia = start_login(h, "leia");
  h.run_held();
  h.end_turn();
  // luke blocks yoda: yoda hears of leia only, in a frame of its own; obi and the newcomers get
  // the shared one.
  CHECK(h.take(yoda) == messages{presence_changes({"+leia"})});
  CHECK(h.take(obi) == messages{presence_changes({"+luke", "+leia"})});
  CHECK(frames_to(h, yoda) != frames_to(h, obi));
  CHECK(frames_to(h, luke) == frames_to(h, obi));
  CHECK(frames_to(h, leia).empty());
  // The block is one-way: luke still hears of yoda's logout.
  h.send(yoda, proto::logout_request{});
  h.end_turn();
  CHECK(h.take(luke) == messages{welcome, mailbox_end(), presence_changes({"+luke", "+leia"}),
                                 presence_changes({"-yoda"})});
  CHECK(h.take(leia) == messages{welcome, mailbox_end(), presence_changes({"-yoda"})});
}

TEST_CASE("registry core: one user's logins and logouts within a turn keep their order") {
  harness h = accounts({"yoda", "luke"});
  const auto yoda = h.login_as("yoda", "pw");
  h.clear_inboxes();
  h.end_turns = false;

  SUBCASE("in, then the connection lost") {
    const auto luke = start_login(h, "luke");
    h.disconnect(luke);
    h.end_turn();
    CHECK(h.take(yoda) == messages{presence_changes({"+luke", "-luke"})});
    // luke's connection is gone: nothing more for it.
    CHECK(h.take(luke) == messages{welcome, mailbox_end()});
  }
  SUBCASE("in, then a logout: the logout is a command, so the login went out before it") {
    const auto luke = start_login(h, "luke");
    h.send(luke, proto::logout_request{});
    h.end_turn();
    CHECK(h.take(yoda) == messages{presence("luke", true), presence("luke", false)});
    CHECK(h.take(luke) == messages{welcome, mailbox_end(), ended(proto::end_reason::logged_out)});
  }
  SUBCASE("out, then in again on a new connection") {
    const auto first = h.login_as("luke", "pw");
    h.end_turn();
    h.clear_inboxes();
    h.send(first, proto::logout_request{});
    const auto second = start_login(h, "luke");
    h.end_turn();
    CHECK(h.take(yoda) == messages{presence_changes({"-luke", "+luke"})});
    CHECK(h.take(second) == messages{welcome, mailbox_end()});
  }
}

TEST_CASE("registry core: who leaves during a turn hears that turn's changes before its end") {
  harness h = accounts({"yoda", "obi", "luke"});
  const auto yoda = h.login_as("yoda", "pw");
  const auto obi = h.login_as("obi", "pw");
  h.clear_inboxes();
  h.end_turns = false;

  SUBCASE("a logout") {
    h.login_as("luke", "pw");
    h.send(obi, proto::logout_request{});
    CHECK(h.take(obi) ==
          messages{presence_changes({"+luke"}), ended(proto::end_reason::logged_out)});
    h.end_turn();
    CHECK(h.take(yoda) == messages{presence_changes({"+luke", "-obi"})});
  }
  SUBCASE("the registry shutting down: everyone hears what was pending, and nothing after") {
    h.login_as("luke", "pw");
    h.shutdown();
    CHECK(h.take(yoda) ==
          messages{presence_changes({"+luke"}), ended(proto::end_reason::shutdown)});
    CHECK(h.take(obi) == messages{presence_changes({"+luke"}), ended(proto::end_reason::shutdown)});
    h.end_turn();
    CHECK(h.last.sends.empty());
  }
  SUBCASE("an inactivity timeout, the fake clock moved to it") {
    // obi is active a second later than yoda, so only yoda's idle timeout comes due.
    h.advance(std::chrono::seconds(1));
    h.send(obi, proto::who_else{});
    h.advance(std::chrono::seconds(599));
    h.clear_inboxes();
    h.login_as("luke", "pw");
    h.tick();
    CHECK(h.take(yoda) ==
          messages{presence_changes({"+luke"}), ended(proto::end_reason::inactivity)});
    CHECK(h.take(obi).empty());
    h.end_turn();
    CHECK(h.take(obi) == messages{presence_changes({"+luke", "-yoda"})});
  }
}

TEST_CASE("registry core: a turn with more changes than one batch holds sends several, in order") {
  std::vector<std::string> names{"yoda"};
  const std::size_t logins = proto::max_presence_per_batch + 10;
  for (std::size_t i = 0; i < logins; ++i) names.push_back("u" + std::to_string(i));
  harness h = accounts(names);
  const auto yoda = h.login_as("yoda", "pw");
  h.clear_inboxes();
  h.end_turns = false;
  for (std::size_t i = 0; i < logins; ++i) h.login_as(names[i + 1], "pw");
  h.end_turn();
  const auto got = h.take(yoda);
  REQUIRE(got.size() == 2);
  const auto& first = std::get<proto::presence_batch>(got[0]).changes.items;
  const auto& second = std::get<proto::presence_batch>(got[1]).changes.items;
  CHECK(first.size() == proto::max_presence_per_batch);
  CHECK(second.size() == 10);
  CHECK(first.front().user.value == "u0");
  CHECK(second.back().user.value == names.back());
  // Session ids count from 1 in the harness: the last one is the number of sessions. The first
  // newcomer after the full batch went out got none of it, only the second batch, which starts
  // with its own login.
  const auto last = static_cast<session_id>(h.registry().sessions());
  const auto after_full = h.take(last - 9);
  REQUIRE(after_full.size() == 1);
  CHECK(after_full[0] == got[1]);
  // The last of the full batch had nothing to hear of it, then got the second one.
  CHECK(h.take(last - 10) == messages{got[1]});
}

}  // namespace parley::registry

namespace parley::registry {

TEST_CASE("registry core: nothing a newcomer sends overtakes the notice of its own login") {
  harness h = accounts({"yoda", "obi", "luke"});
  const auto yoda = h.login_as("yoda", "pw");
  const auto obi = h.login_as("obi", "pw");
  h.clear_inboxes();
  h.end_turns = false;
  const auto luke = h.login_as("luke", "pw");
  REQUIRE(h.registry().turn_end_pending());

  SUBCASE("a DM") {
    h.send(luke, proto::direct_message{"yoda", "hi"});
    CHECK(h.take(yoda) == messages{presence("luke", true),
                                   testing::delivery("luke", "hi", proto::delivery_kind::direct)});
  }
  SUBCASE("a block: the login was seen before it") {
    h.send(luke, proto::block_user{"obi"});
    CHECK(h.take(obi) == messages{presence("luke", true)});
    h.send(luke, proto::logout_request{});
    h.end_turn();
    CHECK(h.take(obi).empty());
    CHECK(h.take(yoda) == messages{presence("luke", true), presence("luke", false)});
  }
  CHECK_FALSE(h.registry().turn_end_pending());
}

}  // namespace parley::registry
