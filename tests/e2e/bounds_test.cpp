// Limits and bad input (SPEC 9, 3.6): a connection that breaks the protocol is closed, and the
// registry serves everyone else as before.
#include "shared/proto/frame.hpp"
#include "tests/e2e/harness.hpp"

#include <doctest/doctest.h>

#include <string>

namespace parley::e2e {

namespace {

constexpr std::uint32_t one_gibibyte = 1u << 30;

}  // namespace

TEST_CASE("bounds: a 1 GiB length header is refused before the body and the registry goes on") {
  registry_fixture registry;
  auto yoda = logged_in_peer(registry, "yoda");

  // Before any hello.
  raw_client stranger(registry.port());
  REQUIRE(stranger.send_bytes(frame_header(one_gibibyte)));
  CHECK(stranger.wait_closed());

  // From a logged-in user: the others see him leave as for a lost connection.
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  yoda->expect_line("luke logged in");
  luke.send_bytes(frame_header(one_gibibyte) + "just the start of it");
  CHECK(luke.wait_closed());
  yoda->expect_line("luke logged out");

  CHECK(answer_to(*yoda, "whoelse") ==
        std::vector<std::string>{std::string(text::no_other_users_online)});
  auto hans = logged_in_peer(registry, "hans");
  yoda->expect_line("hans logged in");
  CHECK(answer_to(*hans, "message yoda Still serving").empty());
  yoda->expect_line("hans: Still serving");
  CHECK(registry.process().running());
}

TEST_CASE("bounds: a frame that does not decode closes the connection") {
  registry_fixture registry;
  auto yoda = logged_in_peer(registry, "yoda");

  // Garbage as the very first frame.
  raw_client first(registry.port());
  // Built with its length: the embedded NUL would end a plain C string literal after 4 bytes.
  using namespace std::string_literals;
  const std::string garbage = "\xff\xfe\xfd\xfc\x00\x01\x02\x03 not a message \x7f\x80"s;
  REQUIRE(garbage.size() == 25);
  REQUIRE(first.send_bytes(frame_header(static_cast<std::uint32_t>(garbage.size())) + garbage));
  CHECK(first.wait_closed());

  // Garbage in the middle of a logged-in session.
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  yoda->expect_line("luke logged in");
  luke.send_bytes(frame_header(static_cast<std::uint32_t>(garbage.size())) + garbage);
  CHECK(luke.wait_closed());
  yoda->expect_line("luke logged out");

  // A well-formed message the session's state does not allow: a command before login.
  raw_client early(registry.port());
  early.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  early.send(proto::who_else{});
  CHECK(early.wait_closed());

  // The registry serves on.
  CHECK(answer_to(*yoda, "whoelse") ==
        std::vector<std::string>{std::string(text::no_other_users_online)});
  auto again = logged_in_peer(registry, "luke");
  yoda->expect_line("luke logged in");
}

TEST_CASE("bounds: a connection that does not log in within 30 s is closed") {
  // The login deadline is fixed at 30 s (SPEC 3.6); this is the suite's one long test.
  constexpr auto login_deadline = 30s;
  constexpr auto slack = 10s;
  registry_fixture registry;
  const auto start = std::chrono::steady_clock::now();
  raw_client silent(registry.port());
  raw_client hello_only(registry.port());
  hello_only.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  auto peer = start_peer(registry);
  peer->expect(text::username_prompt);
  // A user who logs in meanwhile is not affected.
  auto yoda = logged_in_peer(registry, "yoda");

  peer->expect_line(text::login_timed_out, login_deadline + slack);
  CHECK(peer->wait_exit() == 1);
  CHECK(std::chrono::steady_clock::now() - start >= login_deadline - 2s);
  CHECK(silent.wait_closed());
  CHECK(hello_only.wait_closed());
  CHECK(answer_to(*yoda, "whoelse") ==
        std::vector<std::string>{std::string(text::no_other_users_online)});
  log_out(*yoda);
}

}  // namespace parley::e2e

namespace parley::e2e {

TEST_CASE("bounds: a peer facing a registry that breaks the protocol exits 1") {
  const temp_dir home;
  listener fake_registry;
  // The first bytes a fake registry sends, each enough to end the session.
  const std::string garbage = "\xff\xfe\xfd\xfc\x1b[2J not a message";
  const std::vector<std::string> attacks = {
      frame_header(one_gibibyte),
      frame_header(static_cast<std::uint32_t>(garbage.size())) + garbage,
  };
  for (const auto& attack : attacks) {
    // The fake registry speaks plain frames (a TLS registry's frames are the same within TLS).
    auto peer = start_peer(fake_registry.port(), home.path(), {"--no-tls"});
    auto connection = fake_registry.accept();
    // The peer introduces itself first.
    REQUIRE(connection.receive_body().has_value());
    connection.send_bytes(attack);
    peer->expect_line("Error. Lost connection to the registry");
    CHECK(peer->wait_exit() == 1);
    CHECK(connection.wait_closed());
    // Nothing of what the fake registry sent reached the terminal.
    CHECK(peer->raw_output().find("not a message") == std::string::npos);
    CHECK(peer->raw_output().find("\x1b[2J") == std::string::npos);
  }
}

}  // namespace parley::e2e
