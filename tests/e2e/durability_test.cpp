// Durability (SPEC 6) and registry shutdown: what the registry acknowledged survives a restart
// and a kill -9; SIGTERM tells every peer.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

namespace parley::e2e {

TEST_CASE("durability: offline messages and blocks and accounts survive a restart") {
  registry_fixture registry;
  {
    auto luke = logged_in_peer(registry, "luke");
    CHECK(answer_to(*luke, "message hans Kept across the restart").empty());
    auto yoda = logged_in_peer(registry, "yoda");
    CHECK(answer_to(*yoda, "block luke") == std::vector<std::string>{"luke is blocked"});
    log_out(*yoda);
    log_out(*luke);
  }
  registry.restart();

  auto luke = logged_in_peer(registry, "luke");
  CHECK(answer_to(*luke, "message yoda Forgiven?") ==
        std::vector<std::string>{std::string(text::blocked_by_recipient)});
  auto hans = logged_in_peer(registry, "hans");
  hans->expect_line("luke: Kept across the restart");
  log_out(*hans);
  log_out(*luke);

  // Delivered once: not again at the next login.
  hans = start_scripted_peer(registry, "hans\nsolo\nlogout\n");
  CHECK(hans->wait_exit() == 0);
  CHECK(hans->raw_output() == scripted_welcome());
}

TEST_CASE("durability: kill -9 right after the acknowledgements loses no offline message") {
  constexpr int message_count = 25;
  registry_fixture registry;

  // Each command is answered before the next line is handled, so once the whoelse answer is
  // out, every message before it has been acknowledged, that is committed.
  launch_options options;
  // Not reconnecting (SPEC 11): this is about what the registry kept, not about the peer.
  options.argv = {peer_binary, std::to_string(registry.port()), "--reconnect-for", "0"};
  options.environment = peer_environment(registry.new_home());
  child_process yoda(options);
  std::string script = "yoda\nwise\n";
  std::string expected;
  for (int i = 1; i <= message_count; ++i) {
    script += "message luke Offline message " + std::to_string(i) + "\n";
    expected += "yoda: Offline message " + std::to_string(i) + "\n";
  }
  yoda.send_raw(script + "whoelse\n");
  yoda.expect_line(text::no_other_users_online);
  registry.kill9();
  CHECK(yoda.wait_exit() == 1);
  CHECK(yoda.raw_output() == scripted_welcome() + std::string(text::no_other_users_online) + "\n" +
                                 "Error. Lost connection to the registry\n");

  registry.start();
  // All of them, in order, exactly once.
  auto luke = start_scripted_peer(registry, "luke\njedi\nlogout\n");
  CHECK(luke->wait_exit() == 0);
  CHECK(luke->raw_output() == scripted_welcome() + expected);
  luke = start_scripted_peer(registry, "luke\njedi\nlogout\n");
  CHECK(luke->wait_exit() == 0);
  CHECK(luke->raw_output() == scripted_welcome());
}

TEST_CASE(
    "durability: a recipient that goes right after the welcome gets its messages next time, "
    "and a peer that showed them never shows them again") {
  registry_fixture registry;
  auto yoda =
      start_scripted_peer(registry, "yoda\nwise\nmessage luke one\nmessage luke two\nlogout\n");
  CHECK(yoda->wait_exit() == 0);

  // A client that logs in as luke, receives the stored messages and hangs up without confirming
  // them: what a peer killed right after the welcome line leaves.
  const auto closes = [&] {
    const std::string log = registry.log();
    std::size_t count = 0;
    for (auto at = log.find(" closed: "); at != std::string::npos;
         at = log.find(" closed: ", at + 1))
      ++count;
    return count;
  };
  std::size_t closes_before = 0;
  {
    raw_client gone(registry.port());
    gone.log_in("luke", "jedi");
    const auto first = gone.expect<proto::stored_message>();
    CHECK(first.text.value == "one");
    const auto second = gone.expect<proto::stored_message>();
    CHECK(second.text.value == "two");
    CHECK(second.id > first.id);
    gone.expect<proto::stored_end>();
    closes_before = closes();
  }
  // The next login, once the registry has seen that close, gets both, once; the peer confirms.
  CHECK(wait_until([&] { return closes() > closes_before; }));
  auto luke = start_scripted_peer(registry, "luke\njedi\nlogout\n");
  CHECK(luke->wait_exit() == 0);
  CHECK(luke->raw_output() == scripted_welcome() + "yoda: one\nyoda: two\n");
  // Confirmed, so deleted: not shown again.
  luke = start_scripted_peer(registry, "luke\njedi\nlogout\n");
  CHECK(luke->wait_exit() == 0);
  CHECK(luke->raw_output() == scripted_welcome());
}

TEST_CASE("shutdown: SIGTERM stops the registry with 0 and tells every peer") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  // Not reconnecting: the shutdown is the end (SPEC 11's resume is reconnect_test's).
  auto leia = logged_in_peer_with(registry, "leia", {"--reconnect-for", "0"});
  // A peer still at the login prompt is told too.
  auto anonymous = start_peer(registry);
  anonymous->expect(text::username_prompt);

  registry.stop();
  for (auto* peer : {leia.get(), anonymous.get()}) {
    peer->expect_line(text::registry_shut_down);
    CHECK(peer->wait_exit() == 1);
  }
  // The others will resume once it is back: they say so, and wait.
  for (auto* peer : {yoda.get(), luke.get()}) {
    peer->expect_line(text::lost_registry);
    peer->expect_line(text::reconnecting_hint);
    CHECK(peer->running());
  }
}

}  // namespace parley::e2e
