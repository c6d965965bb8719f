// SPEC 11: the peer survives a lost registry. After kill -9 or SIGTERM and a start on the same
// port, every peer resumes its session with its ticket: private chats stay open, nobody sees a
// logout or login, and what was sent meanwhile arrives once. A registry with a new key is not
// reconnected to; a registry that stays away is given up on.
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace parley::e2e {
namespace {

namespace fs = std::filesystem;
using lines = std::vector<std::string>;

bool shows_presence(const child_process& peer, std::size_t from) {
  const auto text = peer.output().text().substr(from);
  return text.find(" logged in") != std::string::npos ||
         text.find(" logged out") != std::string::npos;
}

// yoda, luke and leia logged in, a yoda-luke chat open; the registry goes (`stop_it`) and comes
// back on its port; all three resume.
template <class Stop>
void survive(Stop stop_it) {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  auto luke = logged_in_user(registry, "luke");
  auto leia = logged_in_user(registry, "leia");
  yoda->expect_line("leia logged in");
  luke->expect_line("leia logged in");
  open_private_chat(yoda, luke);
  const auto leia_seen = leia->output().text().size();
  const auto yoda_seen = yoda->output().text().size();

  stop_it(registry);
  for (const auto* peer : {&yoda, &luke, &leia}) {
    (*peer)->expect_line(text::lost_registry);
    (*peer)->expect_line(text::reconnecting_hint);
  }
  // The chat needs no registry: it goes on while it is away.
  yoda->send_line("private luke while it is away");
  luke->expect_line(text::private_text("yoda", "while it is away"));
  CHECK(answer_to(*leia, "whoelse") ==
        lines{std::string(text::not_connected), std::string(text::not_connected_hint)});

  registry.start_on_same_port();
  for (const auto* peer : {&yoda, &luke, &leia})
    (*peer)->expect_line(text::reconnected, reconnect_timeout);
  // The same sessions: the chat is still open, others are still online, and a DM arrives once.
  yoda->send_line("private luke after the restart");
  luke->expect_line(text::private_text("yoda", "after the restart"));
  CHECK(answer_to(*leia, "whoelse") == lines{"luke", "yoda"});
  leia->send_line("message yoda welcome back");
  yoda->expect_line("leia: welcome back");
  CHECK(answer_to(*yoda, "whoelse") == lines{"leia", "luke"});
  // Nobody saw anyone log out or in: the resumes were in time.
  CHECK_FALSE(shows_presence(*leia, leia_seen));
  CHECK_FALSE(shows_presence(*yoda, yoda_seen));
  const auto all = yoda->output().text();
  CHECK(all.find("leia: welcome back") == all.rfind("leia: welcome back"));
  // The registry heard them all resume, and logged no ticket.
  CHECK(registry.log().find("3 sessions from before the restart may be resumed") !=
        std::string::npos);
  log_out(*leia);
  yoda->expect_line("leia logged out");
}

}  // namespace

TEST_CASE("reconnect: after kill -9 the peers resume, the chat kept, no notices to anyone") {
  survive([](registry_fixture& registry) { registry.kill9(); });
}

TEST_CASE("reconnect: after a SIGTERM restart the peers resume the same way") {
  survive([](registry_fixture& registry) { registry.stop(); });
}

TEST_CASE("reconnect: a direct message to a user who is reconnecting is stored and shown once") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  registry.stop();
  yoda->expect_line(text::reconnecting_hint);
  luke->expect_line(text::reconnecting_hint);
  registry.start_on_same_port();
  yoda->expect_line(text::reconnected, reconnect_timeout);
  // luke has not come back yet, or just has: either way the message reaches him once.
  yoda->send_line("message luke are you back");
  luke->expect_line(text::reconnected, reconnect_timeout);
  luke->expect_line("yoda: are you back");
  CHECK(answer_to(*luke, "whoelse") == lines{"yoda"});
  const auto all = luke->output().text();
  CHECK(all.find("yoda: are you back") == all.rfind("yoda: are you back"));
}

TEST_CASE("reconnect: a registry back with another key is refused, with SPEC 10's line") {
  registry_fixture registry;
  // (logged_in_user: its first command's answer comes after the session's ticket.)
  auto yoda = logged_in_user(registry, "yoda");
  registry.kill9();
  yoda->expect_line(text::reconnecting_hint);
  // A new key: as if someone else now answered on the registry's address.
  fs::remove(registry.database_path().string() + ".tls-key.pem");
  fs::remove(registry.database_path().string() + ".tls-cert.pem");
  registry.start_on_same_port();
  yoda->expect("Error. The registry's identity has changed: SHA256:", reconnect_timeout);
  CHECK(yoda->wait_exit() == 1);
  CHECK(yoda->output().text().find(text::reconnected) == std::string::npos);
}

TEST_CASE("reconnect: a registry that stays away is given up on after --reconnect-for") {
  registry_fixture registry;
  auto yoda = logged_in_user_with(registry, "yoda", {"--reconnect-for", "2"});
  registry.kill9();
  yoda->expect_line(text::lost_registry);
  yoda->expect_line(text::reconnecting_hint);
  yoda->expect_line(text::could_not_reconnect);
  yoda->expect_line("Gave up after 2 s; start the peer again to log in");
  CHECK(yoda->wait_exit() == 1);
}

TEST_CASE("reconnect: with no resume window the ticket logs in again, announced") {
  // --resume-grace 0 and --restart-grace 0: nothing waits for a resume, but the ticket
  // still logs in again (announced) for --ticket-lifetime.
  registry_fixture registry({}, {"--restart-grace", "0", "--resume-grace", "0"});
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  registry.kill9();
  yoda->expect_line(text::reconnecting_hint);
  luke->expect_line(text::reconnecting_hint);
  registry.start_on_same_port();
  // Each comes back as a new login, and says so; whoever is back first sees the other log in.
  for (const auto* peer : {&yoda, &luke}) {
    (*peer)->expect_line(text::reconnected, reconnect_timeout);
    (*peer)->expect_line("The session had ended: others saw you log out and back in");
  }
  // (yoda sees luke's login if yoda was back first: it may fall inside the answer.)
  auto online = answer_to(*yoda, "whoelse");
  std::erase(online, std::string("luke logged in"));
  CHECK(online == lines{"luke"});
  // luke logs out: his ticket is revoked, and a peer holding it could not come back.
  log_out(*luke);
  yoda->expect_line("luke logged out");
}

}  // namespace parley::e2e

namespace parley::e2e {

TEST_CASE("reconnect: the registry link has TCP keepalive, so a silent loss shows too") {
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  // iproute2's ss shows each socket's timer: keepalive on an idle, established link.
  const std::string command =
      "ss -tno state established '( dport = :" + std::to_string(registry.port()) +
      " )' 2>/dev/null";
  std::string shown;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) shown += buffer;
    ::pclose(pipe);
  }
  if (shown.empty()) {
    MESSAGE("skipped: ss (iproute2) is not installed");
    return;
  }
  CHECK(shown.find("keepalive") != std::string::npos);
}

}  // namespace parley::e2e
