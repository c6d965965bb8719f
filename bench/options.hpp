// The command line of parley-bench, parsed into one value. The names are fixed: bench/compare.sh
// and the README depend on them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace parley::bench {

enum class workload {
  direct,
  broadcast,
  idle,
  latency,
  login_storm,
  private_chat,
  offline,
  hangup
};
enum class protocol { parley, irc };

const char* to_string(workload w);
const char* to_string(protocol p);

// Every payload holds the 40-character stamp (sender, sequence, send time) the receiver reads.
inline constexpr std::size_t payload_stamp_bytes = 40;
// An IRC line is at most 512 bytes with its CR LF; the command, the target and the prefix the
// server adds on relay need room too.
inline constexpr std::size_t max_irc_payload_bytes = 400;
inline constexpr std::size_t max_users = 100000;
inline constexpr std::size_t max_inflight = 1024;
inline constexpr double max_duration_seconds = 3600;
inline constexpr double max_login_rate = 100000;
inline constexpr std::size_t max_prefix_bytes = 16;
// Clients logging in (or registering, on IRC) at once, i.e. connected and not yet ready; the next
// connects as one becomes ready. The default keeps the server busy while the listen backlog never
// overflows into SYN retries.
inline constexpr std::size_t default_parley_connect_batch = 256;
// ngIRCd listens with a backlog of 10: more connections at once overflow it, and the dropped SYNs
// are retried after 1, 3, 7... s, which would stall registration for tens of seconds. A server
// that answers each registration late (InspIRCd: about 1 s) needs a far larger batch instead.
inline constexpr std::size_t default_irc_connect_batch = 8;
inline constexpr std::size_t max_connect_batch = 10000;

struct options {
  bench::workload workload = workload::direct;
  bench::protocol proto = protocol::parley;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t users = 0;  // 0: the workload's default (idle: 10000, latency and login-storm: 2)
  std::size_t inflight = 4;
  std::size_t senders = 4;
  double duration_s = 10;
  double warmup_s = 2;
  double rate = 20;  // login-storm: logins per second
  // Clients logging in at once; parse_options sets the protocol's default when none is given.
  std::size_t connect_batch = default_parley_connect_batch;
  std::size_t payload = 64;
  std::optional<int> pid;  // the server's, for /proc/PID
  std::string prefix = "b";
  std::string password = "benchpw";
  // offline: the accounts the DMs go to, round robin (each has a mailbox of 1,000 messages).
  std::size_t recipients = 2000;
  // offline: each of the chatting pair sends its next DM this long after its previous one (once
  // that has arrived): two users chatting fast, not a second flood; 0: as soon as it arrives.
  std::uint64_t chat_interval_us = 1000;
  // hangup: the address the flood connects from (the victim connects from the default one).
  std::string flood_from = "127.0.0.2";
  // Every server connection over TLS 1.3 (the registry's link, as a peer connects by default;
  // an IRC server's TLS port). The key is not checked: a generator measures, it trusts the server
  // it was pointed at.
  bool tls = false;
};
inline constexpr std::size_t max_recipients = 100000;
// offline: unacknowledged DMs the sender keeps in flight unless --inflight says otherwise.
inline constexpr std::size_t default_offline_inflight = 256;
// hangup: flood connections under way at once unless --connect-batch says otherwise.
inline constexpr std::size_t default_flood_batch = 64;

// Exit codes: 0 a completed run, 1 a failed run, 2 bad arguments.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_bad_arguments = 2;

// Either the options, or the exit code to leave with at once (--help: 0; a bad argument: 2, after
// printing why on stderr).
std::variant<options, int> parse_options(int argc, const char* const* argv);

}  // namespace parley::bench
