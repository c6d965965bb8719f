// SPEC 10's registry link, end to end with the real binaries: what a capture of the link shows,
// the key the registry makes and the pin the peer keeps, a changed key refused before anything is
// sent, an operator's certificate, and --no-tls on both sides or on one (a mismatch fails at once).
#include "tests/e2e/harness.hpp"
#include "tests/e2e/proxy.hpp"
#include "tests/e2e/test_ca.hpp"

#include "shared/proto/frame.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace parley::e2e {

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// SPEC 10: a mismatch fails at once.
constexpr milliseconds mismatch_bound = 2000ms;

std::string file_text(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned mode_of(const fs::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

// A plain TCP connection to `port`, whatever the registry speaks there (raw_client would speak
// TLS to a TLS registry's port).
raw_client plain_client(std::uint16_t port) {
  unique_fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(socket);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
          0);
  return raw_client(std::move(socket));
}

registry_settings without_tls() {
  registry_settings settings;
  settings.tls = false;
  return settings;
}

}  // namespace

TEST_CASE("tls: a capture of the registry link shows no password, direct message or broadcast") {
  registry_fixture registry;
  tcp_proxy proxy(registry.port(), relay_mode::pass_through);
  const auto yoda_home = registry.new_home();
  const auto luke_home = registry.new_home();
  // Met before, under the proxy's address: no first-use note among the answers.
  pin_registry(yoda_home, proxy.port(), registry.fingerprint());
  pin_registry(luke_home, proxy.port(), registry.fingerprint());
  auto [yoda, luke] = chat_for_capture(proxy.port(), yoda_home, luke_home);
  log_out(*luke);
  yoda->expect_line("luke logged out");
  log_out(*yoda);

  // The same session as proxy_test's plain control, where each of these is found.
  REQUIRE(proxy.connections() == 2);
  CHECK(proxy.captured(0, direction::to_target).size() > 0);
  CHECK_FALSE(proxy.capture_contains(password_of("yoda")));
  CHECK_FALSE(proxy.capture_contains(password_of("luke")));
  CHECK_FALSE(proxy.capture_contains(capture_direct_text));
  CHECK_FALSE(proxy.capture_contains(capture_broadcast_text));
  CHECK_FALSE(proxy.capture_contains("Welcome"));
  // Each connection's first bytes are a TLS handshake record (0x16), in both directions.
  for (std::size_t connection = 0; connection < 2; ++connection) {
    CHECK(proxy.captured(connection, direction::to_target).front() == '\x16');
    CHECK(proxy.captured(connection, direction::to_client).front() == '\x16');
  }
}

TEST_CASE("tls: the first start makes a key (0600) and certificate, logged, a restart keeps them") {
  registry_fixture registry;
  const auto key = fs::path(registry.database_path().string() + ".tls-key.pem");
  const auto certificate = fs::path(registry.database_path().string() + ".tls-cert.pem");
  REQUIRE(fs::exists(key));
  REQUIRE(fs::exists(certificate));
  CHECK(mode_of(key) == 0600);
  const auto first = logged_fingerprint(registry.log());
  REQUIRE(first.size() == std::string_view("SHA256:").size() + 43);
  CHECK(registry.log().find("made now") != std::string::npos);
  const auto key_pem = file_text(key);
  // Nothing secret in the log (SPEC 10).
  CHECK(registry.log().find("PRIVATE KEY") == std::string::npos);

  const auto log_size = registry.log().size();
  registry.restart();
  const auto second_run = registry.log().substr(log_size);
  CHECK(logged_fingerprint(second_run) == first);
  CHECK(second_run.find("made now") == std::string::npos);
  CHECK(file_text(key) == key_pem);
}

TEST_CASE("tls: the peer pins the key on first use, then connects silently with it") {
  registry_fixture registry;
  const auto fingerprint = logged_fingerprint(registry.log());
  REQUIRE_FALSE(fingerprint.empty());
  const auto home = registry.new_home();
  {
    auto yoda = start_unpinned_peer(registry.port(), home);
    log_in(*yoda, "yoda", password_of("yoda"));
    // A hint after the welcome, never before a fixed line.
    yoda->expect("First connection to 127.0.0.1:" + std::to_string(registry.port()) + ": its key " +
                 fingerprint + " is now pinned in " + known_registries_file(home).string());
    log_out(*yoda);
  }
  const auto pins = known_registries_file(home);
  REQUIRE(fs::exists(pins));
  CHECK(mode_of(pins) == 0600);
  CHECK(mode_of(pins.parent_path()) == 0700);
  const auto line = "127.0.0.1:" + std::to_string(registry.port()) + " " + fingerprint + "\n";
  CHECK(file_text(pins) == line);

  auto again = start_unpinned_peer(registry.port(), home);
  log_in(*again, "yoda", password_of("yoda"));
  CHECK(answer_to(*again, "whoelse") == std::vector<std::string>{"No other users online"});
  CHECK(again->output().text().find("pinned") == std::string::npos);
  log_out(*again);
  CHECK(file_text(pins) == line);
}

TEST_CASE("tls: a script's first connection pins with the note on stderr, stdout unchanged") {
  registry_fixture registry;
  const auto home = registry.new_home();
  launch_options options;
  options.argv = {peer_binary, std::to_string(registry.port())};
  options.mode = io_mode::pipes;
  options.environment = peer_environment(home);
  child_process yoda(options);
  yoda.send_raw("yoda\n" + password_of("yoda") + "\nlogout\n");
  yoda.close_input();
  CHECK(yoda.wait_exit() == 0);
  CHECK(yoda.raw_output() ==
        "Username: Password: Welcome to the greatest messaging application ever!\n");
  CHECK(yoda.error_output().find("is now pinned in") != std::string::npos);
  CHECK(file_text(known_registries_file(home)).find(registry.fingerprint()) != std::string::npos);
}

TEST_CASE("tls: a registry whose key changed is refused before the peer sends anything") {
  registry_fixture registry;
  const auto home = registry.new_home();
  // The pin of an earlier key for this address (the registry's key has changed since).
  const std::string old_key = "SHA256:" + std::string(43, 'A');
  const auto pins = known_registries_file(home);
  fs::create_directories(pins.parent_path());
  const std::string address = "127.0.0.1:" + std::to_string(registry.port());
  {
    std::ofstream out(pins);
    out << "# pins\n" << address << " " << old_key << "\n";
  }
  tcp_proxy proxy(registry.port(), relay_mode::pass_through);
  const auto log_before = registry.log().size();
  // Through the proxy the pin's address is the proxy's: the same pin under its port.
  {
    std::ofstream out(pins, std::ios::app);
    out << "127.0.0.1:" << proxy.port() << " " << old_key << "\n";
  }
  const auto started = steady::now();
  auto peer = start_unpinned_peer(proxy.port(), home);
  peer->expect_line("Error. The registry's identity has changed: " +
                    logged_fingerprint(registry.log()));
  peer->expect("delete that line and connect again");
  CHECK(peer->wait_exit() == 1);
  CHECK(steady::now() - started < mismatch_bound);
  CHECK(peer->output().text().find(pins.string()) != std::string::npos);
  CHECK(peer->output().text().find("line 3 of") != std::string::npos);
  // It never asked for a name, and the registry saw a failed handshake and no frame.
  CHECK(peer->output().text().find("Username") == std::string::npos);
  REQUIRE(wait_until(
      [&] { return registry.log().find("TLS failed", log_before) != std::string::npos; }));
  CHECK(registry.log().find("undecodable", log_before) == std::string::npos);
  // What the peer sent is its handshake alone: a ClientHello and the alert, no application data
  // record (type 0x17) after them.
  const auto sent = proxy.captured(0, direction::to_target);
  REQUIRE(sent.size() >= 5);
  std::size_t at = 0;
  while (at + 5 <= sent.size()) {
    CHECK(sent[at] != '\x17');
    const auto length =
        (static_cast<unsigned char>(sent[at + 3]) << 8) | static_cast<unsigned char>(sent[at + 4]);
    at += 5 + length;
  }
  // The pins file is untouched.
  CHECK(file_text(pins).find(old_key) != std::string::npos);
}

TEST_CASE("tls: a registry serves the operator's certificate and key (--tls-cert, --tls-key)") {
  // A pair the registry made for itself, copied to the operator's names.
  std::string fingerprint;
  const temp_dir files;
  {
    registry_fixture first;
    fingerprint = logged_fingerprint(first.log());
    fs::copy_file(first.database_path().string() + ".tls-key.pem", files.path() / "op-key.pem");
    fs::copy_file(first.database_path().string() + ".tls-cert.pem", files.path() / "op-cert.pem");
  }
  registry_fixture registry(registry_settings{},
                            {"--tls-cert", (files.path() / "op-cert.pem").string(), "--tls-key",
                             (files.path() / "op-key.pem").string()});
  CHECK(logged_fingerprint(registry.log()) == fingerprint);
  CHECK_FALSE(fs::exists(registry.database_path().string() + ".tls-key.pem"));
  auto yoda = start_peer(registry);
  log_in(*yoda, "yoda", password_of("yoda"));
  log_out(*yoda);

  // A key others may read is refused, naming the file: exit 1.
  fs::permissions(files.path() / "op-key.pem", fs::perms::group_read, fs::perm_options::add);
  launch_options options;
  options.argv = {registry_binary,
                  std::to_string(registry.port()),
                  "60",
                  "600",
                  "--db",
                  ":memory:",
                  "--tls-cert",
                  (files.path() / "op-cert.pem").string(),
                  "--tls-key",
                  (files.path() / "op-key.pem").string()};
  options.mode = io_mode::pipes;
  child_process refused(options);
  CHECK(refused.wait_exit() == 1);
  CHECK(refused.error_output().find("op-key.pem") != std::string::npos);
}

TEST_CASE("tls: --no-tls on both sides speaks the plain protocol") {
  registry_fixture registry(without_tls());
  CHECK(registry.log().find("plain, no TLS") != std::string::npos);
  CHECK_FALSE(fs::exists(registry.database_path().string() + ".tls-key.pem"));
  const auto home = registry.new_home();
  auto yoda = start_peer(registry, home);
  log_in(*yoda, "yoda", password_of("yoda"));
  CHECK(answer_to(*yoda, "whoelse") == std::vector<std::string>{"No other users online"});
  log_out(*yoda);
  // Nothing to pin without TLS.
  CHECK_FALSE(fs::exists(known_registries_file(home)));
}

// --ca: a registry with a certificate a CA issued for its address is accepted and nothing is
// pinned; a certificate from another CA, or for another address, is refused before the peer sends
// anything.
TEST_CASE("tls: with --ca the peer accepts the CA's certificate for the address, and no other") {
  const temp_dir files;
  const test_ca ours(files.path(), "ours");
  const test_ca theirs(files.path(), "theirs");
  ours.issue("127.0.0.1", files.path() / "leaf.pem", files.path() / "leaf-key.pem");
  ours.issue("127.0.0.2", files.path() / "other-address.pem",
             files.path() / "other-address-key.pem");
  const auto served_with = [&](const std::string& certificate, const std::string& key) {
    return std::vector<std::string>{"--tls-cert", (files.path() / certificate).string(),
                                    "--tls-key", (files.path() / key).string()};
  };

  {
    registry_fixture registry(registry_settings{}, served_with("leaf.pem", "leaf-key.pem"));
    const auto home = registry.new_home();
    auto yoda = start_unpinned_peer(registry.port(), home, {"--ca", ours.certificate().string()});
    log_in(*yoda, "yoda", password_of("yoda"));
    log_out(*yoda);
    CHECK(yoda->output().text().find("First connection") == std::string::npos);
    CHECK_FALSE(fs::exists(known_registries_file(home)));

    // The same registry under a CA the peer was not given.
    const auto started = steady::now();
    auto refused =
        start_unpinned_peer(registry.port(), home, {"--ca", theirs.certificate().string()});
    refused->expect_line(
        "Error. The registry's certificate was not accepted: unable to get local issuer "
        "certificate");
    CHECK(refused->wait_exit() == 1);
    CHECK(steady::now() - started < mismatch_bound);
    CHECK(refused->output().text().find("Username") == std::string::npos);
  }

  // The right CA, but the certificate names another address.
  registry_fixture registry(registry_settings{},
                            served_with("other-address.pem", "other-address-key.pem"));
  auto refused = start_unpinned_peer(registry.port(), registry.new_home(),
                                     {"--ca", ours.certificate().string()});
  refused->expect_line("Error. The registry's certificate was not accepted: IP address mismatch");
  CHECK(refused->wait_exit() == 1);
  CHECK(refused->output().text().find("Username") == std::string::npos);
  // No session was started: the registry saw a failed handshake, no login.
  REQUIRE(wait_until([&] { return registry.log().find("TLS failed") != std::string::npos; }));
  CHECK(registry.log().find("logged in") == std::string::npos);
}

TEST_CASE("tls: a TLS peer and a --no-tls registry fail at once, with a clear line") {
  registry_fixture registry(without_tls());
  const auto started = steady::now();
  auto peer = start_unpinned_peer(registry.port(), registry.new_home());
  peer->expect_line("Error. The registry does not use TLS");
  peer->expect("start the peer with --no-tls too");
  CHECK(peer->wait_exit() == 1);
  CHECK(steady::now() - started < mismatch_bound);
  REQUIRE(wait_until([&] {
    return registry.log().find("the client began a TLS handshake") != std::string::npos;
  }));
}

TEST_CASE("tls: a --no-tls peer and a TLS registry fail at once, with a clear line") {
  registry_fixture registry;
  const auto started = steady::now();
  auto peer = start_peer(registry.port(), registry.new_home(), {"--no-tls"});
  peer->expect_line("Error. The registry requires TLS");
  peer->expect_line("Start the peer without --no-tls");
  CHECK(peer->wait_exit() == 1);
  CHECK(steady::now() - started < mismatch_bound);
  REQUIRE(wait_until(
      [&] { return registry.log().find("the client does not use TLS") != std::string::npos; }));

  // A plain client is told session_end{tls_required} in under a second, and closed.
  auto client = plain_client(registry.port());
  client.send(proto::client_hello{proto::protocol_version, {"plain"}});
  const auto end = client.expect<proto::session_end>(1000ms);
  CHECK(end.reason == proto::end_reason::tls_required);
  CHECK(client.wait_closed(1000ms));
}

}  // namespace parley::e2e
