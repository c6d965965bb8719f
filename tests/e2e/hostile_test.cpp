// Hostile clients (SPEC 9.1), attacks performed against the real registry and measured from the
// victim's side. The attacker connects from 127.0.0.2, the victims from 127.0.0.1.
#include "shared/proto/codec.hpp"
#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"
#include "tests/e2e/harness.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace parley::e2e {
namespace {

constexpr const char* attacker_address = "127.0.0.2";

// ASan keeps freed memory in its quarantine (256 MiB by default), so under the sanitizers the
// registry's RSS cannot show what it lets go: bounds on memory that is freed again (dropped
// queues) are checked in the plain build; what the sanitized build checks is everything else.
#ifdef PARLEY_SANITIZED
constexpr bool rss_shows_frees = false;
#else
constexpr bool rss_shows_frees = true;
#endif

// The resident memory of a process, in KiB (VmRSS in /proc/PID/status).
std::int64_t rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::int64_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(4096, '\n');
  }
  FAIL("no VmRSS for process " << pid);
  return 0;
}

// Unauthenticated sockets that each announce a full 64 KiB frame and send all of it but the last
// 5 bytes: without the pre-login bound, the registry holds every partial frame.
// Below the default --max-per-address (256), which is not what these tests are about.
constexpr std::size_t attack_sockets = 200;
constexpr std::uint32_t attack_frame = 64 * 1024;
constexpr std::size_t attack_sent = attack_frame - 5;

std::vector<std::unique_ptr<raw_client>> hold_partial_frames(std::uint16_t port) {
  const std::string bytes = frame_header(attack_frame) + std::string(attack_sent, 'x');
  std::vector<std::unique_ptr<raw_client>> sockets;
  for (std::size_t i = 0; i < attack_sockets; ++i) {
    sockets.push_back(std::make_unique<raw_client>(port, attacker_address));
    // Refused once the registry has closed the connection: that is the guard working.
    sockets.back()->send_bytes(bytes);
  }
  return sockets;
}

// Logged-in sessions that never read, each sent distinct 4 KiB DMs by another user (SPEC 9.1's
// outgoing-queue guards). On loopback the kernel takes about 2.5 MiB for each such socket before
// the registry has to keep anything, so each is sent 4 MiB.
constexpr std::size_t non_readers = 16;
constexpr std::size_t dms_per_non_reader = 1024;  // 1024 x 4 KiB: 4 MiB each, 64 MiB in all
constexpr std::size_t small_total_queue = 4 * 1024 * 1024;
// How often the victims exchange a DM during the attack (in rounds of one DM per non-reader).
constexpr std::size_t rounds_per_victim_check = 64;

// A client that never reads, as an attacker makes it: its receive buffer is set small before it
// connects, so that the window it offers stays small and what the registry sends it stays in the
// registry instead of in the kernel's buffers.
constexpr int non_reader_receive_buffer = 4096;

std::unique_ptr<raw_client> small_window_client(std::uint16_t port) {
  unique_fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(socket);
  const int bytes = non_reader_receive_buffer;
  REQUIRE(::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, attacker_address, &source.sin_addr) == 1);
  REQUIRE(::bind(socket.get(), reinterpret_cast<const sockaddr*>(&source), sizeof source) == 0);
  sockaddr_in registry{};
  registry.sin_family = AF_INET;
  registry.sin_port = htons(port);
  registry.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(socket.get(), reinterpret_cast<const sockaddr*>(&registry), sizeof registry) ==
          0);
  return std::make_unique<raw_client>(std::move(socket), port);
}

std::string non_reader(std::size_t i) { return "nr" + std::to_string(i); }
std::string non_reader_password(std::size_t i) { return "never-reads-" + std::to_string(i); }

registry_settings with_non_readers() {
  registry_settings settings;
  for (std::size_t i = 0; i < non_readers; ++i)
    *settings.credentials += non_reader(i) + " " + non_reader_password(i) + "\n";
  return settings;
}

struct queue_attack {
  std::int64_t grown_kib = 0;           // the registry's RSS growth over the attack
  milliseconds slowest_victim_dm{0};    // the longest a victim's DM took to show
  std::size_t dropped_non_readers = 0;  // as the victims were told (`nrN logged out`)
};

// Performs the attack on `registry` with `count` non-readers, while yoda and luke (127.0.0.1)
// exchange DMs.
queue_attack attack_queues(registry_fixture& registry, std::size_t count = non_readers) {
  queue_attack result;
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  std::vector<std::unique_ptr<raw_client>> idle;
  for (std::size_t i = 0; i < count; ++i) {
    idle.push_back(small_window_client(registry.port()));
    idle.back()->log_in(non_reader(i), non_reader_password(i));
  }
  // The sender reads its own replies: only the non-readers fall behind.
  raw_client vader(registry.port(), attacker_address);
  vader.log_in("vader", password_of("vader"));
  const auto victim_dm = [&](const std::string& text) {
    const auto start = std::chrono::steady_clock::now();
    luke->send_line("message yoda " + text);
    yoda->expect_line("luke: " + text);
    result.slowest_victim_dm = std::max(
        result.slowest_victim_dm,
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start));
  };
  victim_dm("before");
  const auto before = rss_kib(registry.process().pid());

  // The attacker sends only to recipients still online (a DM to one that has gone would be
  // stored, and the database's cache would blur the measurement).
  std::vector<bool> online(count, true);
  for (std::size_t round = 0; round < dms_per_non_reader; ++round) {
    for (std::size_t i = 0; i < count; ++i) {
      if (!online[i]) continue;
      // Distinct bodies of the largest size: nothing is shared between the queues.
      std::string text = "round " + std::to_string(round) + " to " + non_reader(i) + " ";
      text.resize(proto::max_text_bytes, 'x');
      vader.send(proto::direct_message{{non_reader(i)}, {std::move(text)}});
    }
    // One reply per DM, in order: delivered (queued for the recipient) or not.
    for (std::size_t i = 0; i < count; ++i) {
      if (!online[i]) continue;
      online[i] = vader.expect<proto::command_reply>().result == proto::outcome::message_delivered;
    }
    if ((round + 1) % rounds_per_victim_check == 0) victim_dm("round " + std::to_string(round));
  }
  result.grown_kib = rss_kib(registry.process().pid()) - before;
  victim_dm("after");

  // A drop is announced to the others (SPEC 7), within a turn of the registry's loop: wait for
  // the announcements of those the attacker saw go (its DMs to them were no longer delivered).
  const auto announced = [&](std::size_t i) {
    return yoda->raw_output().find(non_reader(i) + " logged out") != std::string::npos;
  };
  wait_until([&] {
    yoda->read_output();
    for (std::size_t i = 0; i < count; ++i)
      if (!online[i] && !announced(i)) return false;
    return true;
  });
  for (std::size_t i = 0; i < count; ++i)
    if (announced(i)) ++result.dropped_non_readers;
  // Neither victim was dropped: each still hears the other.
  CHECK(luke->raw_output().find(std::string(text::lost_registry)) == std::string::npos);
  CHECK(yoda->raw_output().find(std::string(text::lost_registry)) == std::string::npos);
  luke->send_line("message yoda still here");
  yoda->expect_line("luke: still here");
  yoda->send_line("message luke so am I");
  luke->expect_line("yoda: so am I");
  return result;
}

// The registry's lines about dropped sessions: each must name a non-reader at 127.0.0.2 and the
// option whose bound it passed.
void check_drops_name_non_readers(const std::string& log, std::string_view option) {
  for (auto at = log.find(": dropped: "); at != std::string::npos;
       at = log.find(": dropped: ", at + 1)) {
    const auto line_start = log.rfind('\n', at) + 1;
    const auto line = log.substr(line_start, log.find('\n', at) - line_start);
    CAPTURE(line);
    CHECK(line.find("(127.0.0.2:") != std::string::npos);
    CHECK(line.find(" user nr") != std::string::npos);
    CHECK(line.find(option) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("hostile: sessions that never read hold no more than the budget of all queues") {
  SUBCASE("with a small --max-total-queue: the non-readers are dropped, the victims served") {
    // No bound of a session's own, so that only the budget can bite.
    registry_fixture registry(
        with_non_readers(),
        {"--max-total-queue", std::to_string(small_total_queue), "--max-session-queue", "0"});
    const auto attack = attack_queues(registry);
    INFO("registry RSS grew by " << attack.grown_kib << " KiB; " << attack.dropped_non_readers
                                 << " non-readers dropped; slowest victim DM "
                                 << attack.slowest_victim_dm.count() << " ms");
    // Without the budget the registry holds over 20 MiB of this attack (the subcase below);
    // with it, the budget and the allocator's slack.
    if (rss_shows_frees)
      CHECK(attack.grown_kib < static_cast<std::int64_t>(small_total_queue / 1024) + 3 * 1024);
    CHECK(attack.dropped_non_readers >= non_readers / 2);
    CHECK(attack.slowest_victim_dm < 1000ms);
    const auto log = registry.log();
    CHECK(log.find("dropped: the outgoing queues of all connections passed their budget") !=
          std::string::npos);
    check_drops_name_non_readers(log, "(--max-total-queue)");
  }
  SUBCASE("without it (--max-total-queue 0), the registry holds what the non-readers do not read") {
    registry_fixture registry(with_non_readers(),
                              {"--max-total-queue", "0", "--max-session-queue", "0"});
    const auto attack = attack_queues(registry);
    INFO("registry RSS grew by " << attack.grown_kib << " KiB; " << attack.dropped_non_readers
                                 << " non-readers dropped");
    CHECK(attack.dropped_non_readers == 0);
    CHECK(attack.grown_kib > 3 * static_cast<std::int64_t>(small_total_queue / 1024));
  }
}

TEST_CASE("hostile: a session that never reads is dropped past --max-session-queue (1 MiB)") {
  registry_fixture registry(with_non_readers());
  const auto attack = attack_queues(registry, 1);
  INFO("registry RSS grew by " << attack.grown_kib << " KiB; slowest victim DM "
                               << attack.slowest_victim_dm.count() << " ms");
  CHECK(attack.dropped_non_readers == 1);
  // 4 MiB sent: the kernel's buffers take some, the registry at most the bound, then lets go.
  if (rss_shows_frees) CHECK(attack.grown_kib < 3 * 1024);
  CHECK(attack.slowest_victim_dm < 1000ms);
  const auto log = registry.log();
  CHECK(log.find("user nr0: dropped: outgoing queue over its bound (slow reader) "
                 "(--max-session-queue): ") != std::string::npos);
  check_drops_name_non_readers(log, "(--max-session-queue)");
}

TEST_CASE(
    "hostile: a frame over the pre-login bound closes the connection, and after login the "
    "full bound applies") {
  registry_fixture registry;
  auto yoda = logged_in_peer(registry, "yoda");

  raw_client early(registry.port(), attacker_address);
  early.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  CHECK(early.send_bytes(frame_header(1025)));
  CHECK(early.wait_closed());
  // Logged once the connection has closed, which the client may see first.
  CHECK(wait_until([&] {
    return registry.log().find("1025 bytes announced, over the bound of 1024") != std::string::npos;
  }));

  // A logged-in session sends frames far over 1 KiB.
  raw_client luke(registry.port());
  luke.log_in("luke", password_of("luke"));
  yoda->expect_line("luke logged in");
  const std::string long_text(3000, 'z');
  luke.send(proto::direct_message{{"yoda"}, {long_text}});
  yoda->expect_line("luke: " + long_text);
}

TEST_CASE("hostile: unauthenticated sockets cannot make the registry hold their partial frames") {
  SUBCASE("with the guard (default 1 KiB): each is closed at its header, memory stays flat") {
    registry_fixture registry;
    auto yoda = logged_in_peer(registry, "yoda");
    const auto before = rss_kib(registry.process().pid());

    auto sockets = hold_partial_frames(registry.port());
    for (auto& socket : sockets) CHECK(socket->wait_closed());
    const auto grown = rss_kib(registry.process().pid()) - before;
    INFO("registry RSS grew by " << grown << " KiB for " << attack_sockets << " sockets");
    // Without the guard this attack holds attack_sockets x 64 KiB (about 19 MiB; the subcase
    // below measures it). Each socket's TLS session is made and freed again as it is closed, so
    // under the sanitizers the quarantine keeps it (about 280 KiB a socket there): checked in the
    // plain build.
    if (rss_shows_frees) CHECK(grown < 4 * 1024);

    // The victims are served as before.
    auto luke = logged_in_peer(registry, "luke");
    yoda->expect_line("luke logged in");
    luke->send_line("message yoda still here");
    yoda->expect_line("luke: still here");
  }
  SUBCASE("without it (--max-prelogin-frame 0), the same attack is seen in the registry's memory") {
    registry_fixture registry({}, {"--max-prelogin-frame", "0"});
    const auto before = rss_kib(registry.process().pid());
    auto sockets = hold_partial_frames(registry.port());
    // The registry reads at its own pace: wait until it holds most of what was sent.
    const std::int64_t expected_kib =
        static_cast<std::int64_t>(attack_sockets * attack_sent / 1024) * 3 / 4;
    const bool held = wait_until(
        [&] { return rss_kib(registry.process().pid()) - before >= expected_kib; }, 10000ms);
    INFO("registry RSS grew by " << rss_kib(registry.process().pid()) - before << " KiB");
    CHECK(held);
  }
}

TEST_CASE("hostile: one address cannot take every connection, the others are still served") {
  constexpr std::size_t cap = 16;
  registry_fixture registry({}, {"--max-per-address", std::to_string(cap)});

  // The attacker holds the cap: connections that never log in (the login deadline would close
  // them after 30 s, and the attacker would reopen them).
  std::vector<std::unique_ptr<raw_client>> held;
  for (std::size_t i = 0; i < cap; ++i)
    held.push_back(std::make_unique<raw_client>(registry.port(), attacker_address));
  // One more is told why, and closed.
  raw_client refused(registry.port(), attacker_address);
  const auto end = refused.expect<proto::session_end>();
  CHECK(end.reason == proto::end_reason::too_many_connections);
  CHECK(refused.wait_closed());
  CHECK(wait_until([&] {
    return registry.log().find(
               "refused a connection from 127.0.0.2: 16 connections from it are "
               "open, the --max-per-address bound") != std::string::npos;
  }));

  // Users at other addresses log in and talk as if nothing happened.
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  luke->send_line("message yoda unharmed");
  yoda->expect_line("luke: unharmed");

  // A connection the attacker closes frees its place (and only one).
  const auto closed_before = [&] {
    std::size_t count = 0;
    const auto log = registry.log();
    for (auto at = log.find("(127.0.0.2:"); at != std::string::npos;
         at = log.find("(127.0.0.2:", at + 1))
      if (log.compare(log.find(')', at), 9, ") closed:") == 0) ++count;
    return count;
  };
  const auto closed_at_start = closed_before();
  held.pop_back();
  CHECK(wait_until([&] { return closed_before() > closed_at_start; }));
  raw_client again(registry.port(), attacker_address);
  again.send(proto::client_hello{proto::protocol_version, {"parley-e2e"}});
  CHECK(std::holds_alternative<proto::server_hello>(again.receive().value()));
}

TEST_CASE("hostile: a peer refused for its address says so and exits 1") {
  registry_fixture registry({}, {"--max-per-address", "1"});
  // The fixture's own readiness probe came from 127.0.0.1 too: until the registry has seen it
  // close, the one place is taken. Then this connection holds it.
  std::unique_ptr<raw_client> first;
  REQUIRE(wait_until([&] {
    first = std::make_unique<raw_client>(registry.port());
    first->send_bytes(
        proto::encode_frame(proto::client_hello{proto::protocol_version, {"parley-e2e"}}));
    const auto answer = first->receive();
    return answer && std::holds_alternative<proto::server_hello>(*answer);
  }));
  auto peer = start_peer(registry);
  peer->expect_line("Too many connections from your address");
  CHECK(peer->wait_exit() == 1);
}

TEST_CASE(
    "hostile: one user's flood of messages to offline users leaves others' messages quick, "
    "and every acknowledged one is stored") {
  // The non-readers' accounts are the offline recipients here: they never log in.
  registry_fixture registry(with_non_readers());
  auto [yoda, luke] = two_logged_in_peers(registry, "yoda", "luke");
  raw_client vader(registry.port(), attacker_address);
  vader.log_in("vader", password_of("vader"));

  // Pipelined, no reply awaited: 500 for each of 16 mailboxes (under their cap of 1,000).
  constexpr std::size_t flood = 8000;
  for (std::size_t i = 0; i < flood; ++i)
    vader.send(
        proto::direct_message{{non_reader(i % non_readers)}, {"flood " + std::to_string(i)}});
  // Meanwhile the victims talk. With one fsynced commit per message on the network thread this
  // took a second or more per line; in batches on the store worker, a few milliseconds.
  milliseconds slowest{0};
  for (int round = 0; round < 20; ++round) {
    const auto start = std::chrono::steady_clock::now();
    const std::string text = "round " + std::to_string(round);
    luke->send_line("message yoda " + text);
    yoda->expect_line("luke: " + text);
    slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(
                                    std::chrono::steady_clock::now() - start));
  }
  std::size_t stored = 0;
  for (std::size_t i = 0; i < flood; ++i)
    if (vader.expect<proto::command_reply>().result == proto::outcome::message_stored) ++stored;
  INFO("slowest victim DM " << slowest.count() << " ms");
  CHECK(stored == flood);
  CHECK(slowest < 250ms);

  // Every acknowledged message is committed: another connection counts them all (those moved
  // into the indexed table and those still staged).
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(registry.database_path().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT (SELECT count(*) FROM offline_messages) +"
                             " (SELECT count(*) FROM offline_staged)",
                             -1, &count, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(count) == SQLITE_ROW);
  CHECK(static_cast<std::size_t>(sqlite3_column_int64(count, 0)) == flood);
  sqlite3_finalize(count);
  sqlite3_close(db);
}

}  // namespace parley::e2e
