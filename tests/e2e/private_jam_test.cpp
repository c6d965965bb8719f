// SPEC 8.8, the attack of issue 10: an address that keeps silent connections open to a peer's
// private-chat port, reopening each as the peer closes it, must not keep out the chats that peer
// agrees to. The attacker is on 127.0.0.2; yoda and luke are real peers on 127.0.0.1 behind a
// real registry; hans is a raw client on 127.0.0.3 that dials luke from an address the registry
// did not see him at (127.0.0.4), to show what the attack does to a requester nobody vouched for.
#include "shared/proto/codec.hpp"
#include "tests/e2e/fake_registry_peer.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/sealed_p2p.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::e2e {
namespace {

using steady = std::chrono::steady_clock;

constexpr const char* attacker_address = "127.0.0.2";
constexpr const char* hans_address = "127.0.0.3";
constexpr const char* unnamed_address = "127.0.0.4";
// The attack never outlives this, whatever happens to the test.
constexpr milliseconds longest_attack = 60000ms;
// A connection closed this soon after it was opened was refused for lack of room; one the
// listener admitted stays open until its 5 s handshake deadline.
constexpr milliseconds refused_within = 1000ms;
constexpr milliseconds held_at_least = 4000ms;
// Chats yoda opens while the attack runs.
constexpr int chats = 5;
// luke's peer shows each kind of listener notice at most this often (private_network.hpp).
constexpr milliseconds notice_interval = 10000ms;
// Long enough for the attacker's first connections to meet their 5 s deadline and be reopened.
constexpr milliseconds attack_setup_timeout = 15000ms;
// A dial has 5 s to be accepted; the outcome is awaited a little longer.
constexpr milliseconds dial_outcome_timeout = 8000ms;

// Keeps `count` silent connections open from `from` to 127.0.0.1:`port`, on its own thread, and
// reopens each as soon as the listener closes it, until destroyed (or longest_attack).
class listener_jammer {
 public:
  listener_jammer(std::uint16_t port, const char* from, std::size_t count)
      : port_(port), from_(from), slots_(count) {
    thread_ = std::thread([this] { run(); });
  }
  ~listener_jammer() {
    stop_ = true;
    thread_.join();
    for (auto& slot : slots_)
      if (slot.fd >= 0) ::close(slot.fd);
  }
  listener_jammer(const listener_jammer&) = delete;
  listener_jammer& operator=(const listener_jammer&) = delete;

  struct tally {
    std::size_t opened = 0;    // connections made
    std::size_t refused = 0;   // closed by the listener within refused_within
    std::size_t held = 0;      // closed by the listener after held_at_least (its deadline)
    std::size_t held_now = 0;  // open now, for longer than refused_within
  };
  tally count() const {
    std::lock_guard lock(mutex_);
    tally now = tally_;
    const auto at = steady::now();
    for (const auto& slot : slots_)
      if (slot.fd >= 0 && at - slot.opened > refused_within) ++now.held_now;
    return now;
  }

 private:
  struct slot {
    int fd = -1;
    steady::time_point opened;
  };

  void open(slot& s) {
    s.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s.fd < 0) return;
    // A full accept queue must not hang the attacker: a connect that takes longer is retried.
    timeval limit{0, 200000};
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    ::inet_pton(AF_INET, from_, &source.sin_addr);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(port_);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0 ||
        ::connect(s.fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
      ::close(s.fd);
      s.fd = -1;
      return;
    }
    s.opened = steady::now();
    std::lock_guard lock(mutex_);
    ++tally_.opened;
  }

  void closed(slot& s) {
    const auto lived = steady::now() - s.opened;
    ::close(s.fd);
    s.fd = -1;
    std::lock_guard lock(mutex_);
    if (lived < refused_within) ++tally_.refused;
    if (lived >= held_at_least) ++tally_.held;
  }

  void run() {
    const auto give_up = steady::now() + longest_attack;
    std::vector<pollfd> watched;
    while (!stop_ && steady::now() < give_up) {
      for (auto& s : slots_)
        if (s.fd < 0) open(s);
      watched.clear();
      for (const auto& s : slots_) watched.push_back({s.fd, POLLIN, 0});
      if (::poll(watched.data(), watched.size(), 20) <= 0) continue;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (watched[i].fd < 0 || watched[i].revents == 0) continue;
        char byte = 0;
        const auto got = ::recv(slots_[i].fd, &byte, 1, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) closed(slots_[i]);
      }
    }
  }

  std::uint16_t port_;
  const char* from_;
  std::vector<slot> slots_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  tally tally_;
  std::thread thread_;
};

// hans, a raw client logged in from 127.0.0.3, asks luke for a chat with `hans_keys`' public
// half and luke says y: the grant tells hans where luke listens and luke's chat key, and luke
// expects hans's key from 127.0.0.3.
proto::private_granted_keyed hans_granted(raw_client& hans, const user_peer& luke,
                                          const crypto::chat_keypair& hans_keys) {
  hans.log_in("hans", password_of("hans"));
  hans.send(proto::private_invite{{"luke"}, hans_keys.public_part()});
  CHECK(hans.expect<proto::command_reply>().result == proto::outcome::private_requested);
  luke->expect(text::private_offer("hans"));
  luke->send_line("y");
  return hans.expect<proto::private_granted_keyed>();
}

// A dial to luke from `from` running hans's whole handshake: whether luke's peer let it in.
bool hans_dials(const proto::private_granted_keyed& grant, const crypto::chat_keypair& hans_keys,
                const char* from, std::unique_ptr<raw_client>& chat) {
  chat = std::make_unique<raw_client>(grant.port, from);
  // A connection refused for lack of room is closed at once: the open may not even go out,
  // and the handshake fails at its first step.
  return handshake_as_requester(*chat, hans_keys, grant.peer_key,
                                {"hans", "luke", grant.token.value})
      .has_value();
}

// yoda asks luke for a chat `chats` times while the attack goes on; each time luke says y.
// Returns how long each took from luke's y to yoda's `luke accepts private messaging` (nothing
// for a chat that did not open).
std::vector<std::optional<milliseconds>> yoda_opens_chats(const user_peer& yoda,
                                                          const user_peer& luke) {
  std::vector<std::optional<milliseconds>> took;
  for (int i = 0; i < chats; ++i) {
    yoda->send_line("startprivate luke");
    luke->expect(text::private_offer("yoda"));
    const auto answered = steady::now();
    luke->send_line("y");
    const auto outcome = yoda->wait_for_any(
        {text::private_accepts("luke"), text::private_dial_failed("luke")}, dial_outcome_timeout);
    if (outcome != std::size_t{0}) {
      took.emplace_back();
      continue;
    }
    took.emplace_back(std::chrono::duration_cast<milliseconds>(steady::now() - answered));
    luke->expect_line(text::private_start("yoda"));
    yoda->send_line("stopprivate luke");
    luke->expect_line(text::private_stopped_by("yoda"));
  }
  return took;
}

std::string describe(const std::vector<std::optional<milliseconds>>& took) {
  std::string text;
  for (const auto& t : took) text += t ? std::to_string(t->count()) + " ms, " : "FAILED, ";
  return text;
}

}  // namespace

TEST_CASE("private jam: silent connections from one address keep no chat out (defaults)") {
  registry_fixture registry;
  auto [yoda, luke] = two_logged_in_users(registry, "yoda", "luke");
  raw_client hans(registry.port(), hans_address);
  const auto hans_keys = crypto::chat_keypair::generate();
  const auto grant = hans_granted(hans, luke, hans_keys);

  // Four times the default bound per address (8), reopened as fast as they are closed.
  constexpr std::size_t attack_sockets = 32;
  const auto attack_began = steady::now();
  listener_jammer attack(grant.port, attacker_address, attack_sockets);
  // The attack is in place: the listener closes the attacker's surplus as it comes, holds its
  // share until the 5 s deadline, and the attacker takes the places again.
  REQUIRE(wait_until([&] { return attack.count().held >= 8; }, attack_setup_timeout));
  REQUIRE(wait_until([&] { return attack.count().held_now >= 8; }, attack_setup_timeout));

  const auto took = yoda_opens_chats(yoda, luke);
  INFO("yoda's chats took (from luke's y): " << describe(took));
  for (const auto& t : took) CHECK(t.has_value());
  // A requester the registry did not name gets in too: the attacker holds only its share.
  std::unique_ptr<raw_client> hans_chat;
  CHECK(hans_dials(grant, hans_keys, unnamed_address, hans_chat));
  luke->expect_line(text::private_start("hans"));

  const auto tally = attack.count();
  INFO("attacker: " << tally.opened << " connections, " << tally.refused << " refused at once, "
                    << tally.held << " held to the deadline, " << tally.held_now << " held now");
  // The bound per address is what bit: never more than 8 of the attacker's held at a time.
  CHECK(tally.held_now <= 8);
  CHECK(tally.refused > tally.held);
  // Told to luke, and rate-limited: the attack refused thousands, luke saw a line per 10 s.
  const auto notices = count_of(
      *luke, "Refused a private-chat connection from 127.0.0.2: 8 connections from it are waiting");
  INFO("notices shown to luke: " << notices);
  CHECK(notices >= 1);
  CHECK(notices <= 1 + static_cast<std::size_t>((steady::now() - attack_began) / notice_interval));
}

TEST_CASE(
    "private jam: with no bound per address the attacker fills the listener, and still "
    "the requester the registry named gets in") {
  // The total bound alone (64) is what the old listener had (16): one address can take it all.
  registry_fixture registry;
  auto yoda = logged_in_user(registry, "yoda");
  user_peer luke{"luke", start_peer(registry.port(), registry.new_home(),
                                    {"--max-chat-handshakes-per-address", "0"})};
  log_in(*luke, "luke", password_of("luke"));
  answer_to(*luke, "whoelse");
  raw_client hans(registry.port(), hans_address);
  const auto hans_keys = crypto::chat_keypair::generate();
  const auto grant = hans_granted(hans, luke, hans_keys);

  constexpr std::size_t attack_sockets = 96;
  listener_jammer attack(grant.port, attacker_address, attack_sockets);
  // Every one of the 64 places is the attacker's, through a round of deadlines too.
  REQUIRE(wait_until([&] { return attack.count().held >= 64; }, attack_setup_timeout));
  REQUIRE(wait_until([&] { return attack.count().held_now >= 64; }, attack_setup_timeout));

  // The attack bites: hans, dialing from an address the registry did not see him at, is
  // refused like any stranger, key and token or not: `Could not connect` for a real peer.
  std::unique_ptr<raw_client> unnamed;
  CHECK_FALSE(hans_dials(grant, hans_keys, unnamed_address, unnamed));
  // From the address the registry named, the same key and token open the chat.
  std::unique_ptr<raw_client> named;
  CHECK(hans_dials(grant, hans_keys, hans_address, named));
  luke->expect_line(text::private_start("hans"));

  // And so do yoda's, every time.
  const auto took = yoda_opens_chats(yoda, luke);
  INFO("yoda's chats took (from luke's y): " << describe(took));
  for (const auto& t : took) CHECK(t.has_value());
  const auto tally = attack.count();
  INFO("attacker: " << tally.opened << " connections, " << tally.refused << " refused at once, "
                    << tally.held << " held to the deadline, " << tally.held_now << " held now");
  // Each place an expected requester took was an attacker's, and luke was told (once per 10 s).
  CHECK(count_of(*luke,
                 "Closed a private-chat connection from 127.0.0.2 that had not said who it "
                 "is, to make room for one from 127.0.0.3") == 1);
}

}  // namespace parley::e2e
