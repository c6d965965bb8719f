// The `registry` executable: the command line, logging, start-up (database, credentials import,
// core), then the server on one io_context until SIGINT or SIGTERM.
#include "registry/auth/hash_pool.hpp"
#include "registry/auth/password_hash.hpp"
#include "registry/auth/resume_ticket.hpp"
#include "registry/auth/token.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/core/storage.hpp"
#include "registry/net/server.hpp"
#include "registry/startup/account_import.hpp"
#include "registry/store/sqlite_store.hpp"
#include "registry/store/store_worker.hpp"
#include "registry/tls/identity.hpp"
#include "shared/cli/command_line.hpp"
#include "shared/net/tls_session.hpp"
#include "shared/proto/messages.hpp"

#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>

namespace {

using namespace parley::registry;
namespace cli = parley::cli;
namespace fs = std::filesystem;
using asio::ip::tcp;

constexpr std::string_view usage_line =
    "Usage: registry <server_port> <block_duration> <timeout> [options]";

constexpr int exit_clean_shutdown = 0;
constexpr int exit_startup_failure = 1;

constexpr std::uint64_t min_port = 1024;
constexpr std::uint64_t max_port = 65535;
// Durations are added to wall-clock time points counted in nanoseconds: ten years keeps every
// sum far from overflow and is longer than any sensible lockout or timeout.
constexpr std::uint64_t max_duration_seconds = 10ULL * 365 * 24 * 60 * 60;
constexpr std::uint64_t max_connections_bound = 1'000'000;
// A queue bound must hold the largest frames (64 KiB each) with room to spare; a session's count
// is 32 bits; the total is bounded only so that a typing slip is caught.
constexpr std::uint64_t min_queue_bound = 128 * 1024;
constexpr std::uint64_t max_session_queue_bound = 0xffff'ffff;
constexpr std::uint64_t max_total_queue_bound = 1ULL << 40;
// The queue bounds, budgets and the number of addresses tracked.
constexpr std::uint64_t max_guard_bound = 1'000'000;
constexpr std::uint64_t max_accounts_bound = 1'000'000'000;
// Descriptors needed beyond one per connection: listener, database and WAL files, epoll, the
// signal pipe, the log.
constexpr rlim_t reserved_descriptors = 64;

constexpr std::array log_levels{
    std::pair{"trace", spdlog::level::trace}, std::pair{"debug", spdlog::level::debug},
    std::pair{"info", spdlog::level::info},   std::pair{"warn", spdlog::level::warn},
    std::pair{"error", spdlog::level::err},   std::pair{"off", spdlog::level::off}};

struct options {
  std::uint16_t port = 0;
  std::chrono::seconds block_duration{};
  std::chrono::seconds timeout{};
  std::string host = "127.0.0.1";
  std::optional<std::string> credentials;
  std::optional<std::string> database;
  // SPEC 10: the operator's certificate and key (both or neither), or plain frames (--no-tls).
  std::optional<std::string> tls_certificate;
  std::optional<std::string> tls_key;
  bool no_tls = false;
  spdlog::level::level_enum log_level = spdlog::level::info;
  auth::hash_cost hash_cost = auth::hash_cost::interactive;
  std::size_t hash_threads = hash_pool::default_threads();
  std::size_t max_connections = 16384;
  std::size_t max_prelogin_frame = default_max_prelogin_frame;
  std::size_t max_per_address = default_max_per_address;
  std::size_t max_session_queue = default_max_session_queue;
  std::size_t max_total_queue = default_max_total_queue;
  // SPEC 9.1's login guards.
  hash_queue_limits hash_queue{};
  std::size_t login_failures = 30;  // a minute
  std::size_t login_failures_burst = 60;
  std::size_t signups = 60;  // an hour
  std::size_t signups_burst = 60;
  std::size_t max_accounts = 100'000;
  std::size_t budget_addresses = 16384;
  // SPEC 6/9.1: what may wait for the store worker (core_config's defaults).
  std::size_t max_unanswered_writes = core_config{}.max_pending_writes_per_session;
  std::size_t max_unwritten_bytes = core_config{}.max_pending_write_bytes;
  std::size_t max_held_bytes = core_config{}.max_held_bytes;
  // SPEC 11: resume windows and the life of a ticket, in seconds (resume_options' defaults).
  std::size_t resume_grace = static_cast<std::size_t>(resume_options{}.resume_grace.count());
  std::size_t restart_grace = static_cast<std::size_t>(resume_options{}.restart_grace.count());
  std::size_t ticket_lifetime = static_cast<std::size_t>(resume_options{}.ticket_lifetime.count());
};

// ---------------------------------------------------------------- command line

// The parsed options, or the exit code when there is nothing to run (help, version, errors).
std::variant<options, int> parse_command_line(int argc, char** argv) {
  options result;
  std::string port_text, block_text, timeout_text;
  std::string log_level_text = "info";
  std::string hash_cost_text = auth::to_string(result.hash_cost);
  std::string hash_threads_text = std::to_string(result.hash_threads);
  std::string max_connections_text = std::to_string(result.max_connections);
  std::string max_prelogin_frame_text = std::to_string(result.max_prelogin_frame);
  std::string max_per_address_text = std::to_string(result.max_per_address);
  std::string max_session_queue_text = std::to_string(result.max_session_queue);
  std::string max_total_queue_text = std::to_string(result.max_total_queue);
  std::string hash_queue_text = std::to_string(result.hash_queue.max_waiting);
  std::string hash_queue_per_address_text =
      std::to_string(result.hash_queue.max_waiting_per_address);
  std::string hash_fairness_text = "on";
  std::string login_failures_text = std::to_string(result.login_failures);
  std::string login_failures_burst_text = std::to_string(result.login_failures_burst);
  std::string signups_text = std::to_string(result.signups);
  std::string signups_burst_text = std::to_string(result.signups_burst);
  std::string max_accounts_text = std::to_string(result.max_accounts);
  std::string budget_addresses_text = std::to_string(result.budget_addresses);
  std::string max_unanswered_writes_text = std::to_string(result.max_unanswered_writes);
  std::string max_unwritten_bytes_text = std::to_string(result.max_unwritten_bytes);
  std::string max_held_bytes_text = std::to_string(result.max_held_bytes);
  std::string resume_grace_text = std::to_string(result.resume_grace);
  std::string restart_grace_text = std::to_string(result.restart_grace);
  std::string ticket_lifetime_text = std::to_string(result.ticket_lifetime);
  std::string credentials_text, database_text, tls_certificate_text, tls_key_text;

  cli::command_line command_line("registry", std::string(usage_line),
                                 "Parley registry: logs users in, relays their messages and "
                                 "presence, and introduces peers to each other for private chats.",
                                 PARLEY_VERSION);
  auto& app = command_line.app();
  // Values are taken as text and checked below, so each error names its argument our way.
  app.add_option("server_port", port_text, "TCP port to listen on, 1024 to 65535")->type_name("");
  app.add_option("block_duration", block_text,
                 "seconds an account stays locked after 3 consecutive wrong passwords")
      ->type_name("");
  app.add_option("timeout", timeout_text,
                 "seconds without a command after which a user is logged out")
      ->type_name("");
  app.add_option("--host", result.host, "address to listen on (default: 127.0.0.1)")
      ->type_name("ADDR");
  app.add_option("--credentials", credentials_text,
                 "users to import at start-up (default: ./credentials.txt if present, else "
                 "./data/credentials.txt)")
      ->type_name("PATH");
  app.add_option("--db", database_text,
                 "the SQLite database (default: registry.db beside the credentials file; "
                 ":memory: keeps nothing)")
      ->type_name("PATH");
  app.add_option("--tls-cert", tls_certificate_text,
                 "the certificate (PEM, a chain may follow it) the registry presents, with "
                 "--tls-key (default: a self-signed one it makes beside the database on first "
                 "start, <db>.tls-cert.pem)")
      ->type_name("PATH");
  app.add_option("--tls-key", tls_key_text,
                 "the private key (PEM) of --tls-cert; readable by its owner only (default: "
                 "<db>.tls-key.pem, made with the certificate)")
      ->type_name("PATH");
  app.add_flag("--no-tls", result.no_tls,
               "speak the plain protocol, unencrypted (for teaching with a packet capture); "
               "peers must use --no-tls too");
  app.add_option("--log-level", log_level_text,
                 "trace, debug, info, warn, error or off (default: info)")
      ->type_name("LEVEL");
  app.add_option("--hash-cost", hash_cost_text,
                 "Argon2id cost of new password hashes: interactive (default), moderate, or "
                 "test (for tests and benchmarks only: not secure)")
      ->type_name("COST");
  app.add_option("--hash-threads", hash_threads_text,
                 "threads that hash passwords (default: one fewer than the cores, at least 1; "
                 "here " +
                     hash_threads_text + ")")
      ->type_name("N");
  app.add_option("--max-connections", max_connections_text,
                 "connections over this are accepted and closed at once (default: " +
                     max_connections_text + ")")
      ->type_name("N");
  app.add_option("--max-prelogin-frame", max_prelogin_frame_text,
                 "bytes one frame may have before its session has logged in; a connection "
                 "announcing more is closed (default: " +
                     max_prelogin_frame_text + "; 0: the 64 KiB bound of every frame)")
      ->type_name("BYTES");
  app.add_option("--max-per-address", max_per_address_text,
                 "connections open at once from one IP address; one more is told so and closed "
                 "(default: " +
                     max_per_address_text + "; 0: no cap)")
      ->type_name("N");
  app.add_option("--max-session-queue", max_session_queue_text,
                 "bytes one session's outgoing queue may hold (each frame counts 96 bytes more); "
                 "a session that falls further behind is dropped (default: " +
                     max_session_queue_text + "; 0: no bound of its own)")
      ->type_name("BYTES");
  app.add_option("--max-total-queue", max_total_queue_text,
                 "bytes all outgoing queues together may hold; past it the slowest readers (the "
                 "sessions holding the most) are dropped first (default: " +
                     max_total_queue_text + "; 0: no budget)")
      ->type_name("BYTES");
  app.add_option("--hash-queue", hash_queue_text,
                 "password checks that may wait for the hashing threads in all; one more is "
                 "refused (default: " +
                     hash_queue_text + "; 0: no bound)")
      ->type_name("N");
  app.add_option("--hash-queue-per-address", hash_queue_per_address_text,
                 "password checks from one IP address that may wait; one more is refused "
                 "(default: " +
                     hash_queue_per_address_text + "; 0: only --hash-queue bounds them)")
      ->type_name("N");
  app.add_option("--hash-fairness", hash_fairness_text,
                 "on (default): addresses take turns for the hashing threads, one job each at a "
                 "time, and a job whose connection has gone never runs; off: one queue in order "
                 "of arrival, every job runs (for comparisons only)")
      ->type_name("on|off");
  app.add_option("--login-failures", login_failures_text,
                 "wrong passwords per IP address a minute, a token bucket; with none left, a "
                 "password is refused before it is checked (default: " +
                     login_failures_text + "; 0: no budget)")
      ->type_name("N");
  app.add_option("--login-failures-burst", login_failures_burst_text,
                 "the size of that bucket (default: " + login_failures_burst_text + ")")
      ->type_name("N");
  app.add_option("--signups", signups_text,
                 "new accounts per IP address an hour, a token bucket (default: " + signups_text +
                     "; 0: no budget)")
      ->type_name("N");
  app.add_option("--signups-burst", signups_burst_text,
                 "the size of that bucket (default: " + signups_burst_text + ")")
      ->type_name("N");
  app.add_option("--max-accounts", max_accounts_text,
                 "accounts in all; past it no new account is made (default: " + max_accounts_text +
                     "; 0: no cap)")
      ->type_name("N");
  app.add_option(
         "--budget-addresses", budget_addresses_text,
         "IP addresses each budget keeps track of at once (default: " + budget_addresses_text + ")")
      ->type_name("N");
  app.add_option("--max-unanswered-writes", max_unanswered_writes_text,
                 "durable writes (stored messages, blocks) one session may have waiting for the "
                 "disk; past it the registry reads no more of its commands until they are "
                 "committed (default: " +
                     max_unanswered_writes_text + ")")
      ->type_name("N");
  app.add_option("--max-unwritten-bytes", max_unwritten_bytes_text,
                 "bytes of stored-message bodies all sessions together may have waiting for the "
                 "disk; past it every session with a write waiting is paused so (default: " +
                     max_unwritten_bytes_text + ")")
      ->type_name("BYTES");
  app.add_option("--max-held-bytes", max_held_bytes_text,
                 "bytes of frames one session may have waiting behind its unanswered writes or "
                 "its mailbox; past it the session is dropped (default: " +
                     max_held_bytes_text + ")")
      ->type_name("BYTES");
  app.add_option("--resume-grace", resume_grace_text,
                 "seconds a session whose connection was lost stays resumable, others seeing no "
                 "logout (default: " +
                     resume_grace_text + "; 0: none)")
      ->type_name("SECONDS");
  app.add_option("--restart-grace", restart_grace_text,
                 "seconds the sessions online at a stop stay resumable after the next start "
                 "(default: " +
                     restart_grace_text + "; 0: none)")
      ->type_name("SECONDS");
  app.add_option("--ticket-lifetime", ticket_lifetime_text,
                 "seconds an ended session's ticket still logs its user in again, announced "
                 "(default: " +
                     ticket_lifetime_text + "; 0: none)")
      ->type_name("SECONDS");

  if (const auto code = command_line.parse(argc, argv)) return *code;
  const auto bad_arguments = [&](const std::string& message) { return command_line.fail(message); };

  if (port_text.empty()) return bad_arguments("missing argument <server_port>");
  if (block_text.empty()) return bad_arguments("missing argument <block_duration>");
  if (timeout_text.empty()) return bad_arguments("missing argument <timeout>");

  const auto port = cli::parse_whole(port_text, min_port, max_port);
  if (!port) {
    return bad_arguments("invalid server_port '" + port_text +
                         "': must be a whole number from 1024 to 65535");
  }
  result.port = static_cast<std::uint16_t>(*port);
  // Each duration: a whole number of seconds, at least one, at most max_duration_seconds.
  for (auto [name, text, target] :
       {std::tuple{"block_duration", &block_text, &result.block_duration},
        std::tuple{"timeout", &timeout_text, &result.timeout}}) {
    const auto seconds = cli::parse_whole(*text, 1, max_duration_seconds);
    if (!seconds) {
      // Digits only and not all zeros: a whole number greater than 0, but too large.
      const bool too_large = !text->empty() &&
                             text->find_first_not_of("0123456789") == std::string::npos &&
                             text->find_first_not_of('0') != std::string::npos;
      return bad_arguments(std::string("invalid ") + name + " '" + *text + "': " +
                           (too_large ? "must be at most " + std::to_string(max_duration_seconds) +
                                            " seconds (10 years)"
                                      : "must be a whole number of seconds greater than 0"));
    }
    *target = std::chrono::seconds(*seconds);
  }

  if (result.host.empty()) return bad_arguments("invalid --host '': must be an address");
  // A path option given as '' is refused rather than read as "none".
  for (const auto& [option, text, target] :
       {std::tuple{"--credentials", &credentials_text, &result.credentials},
        std::tuple{"--db", &database_text, &result.database},
        std::tuple{"--tls-cert", &tls_certificate_text, &result.tls_certificate},
        std::tuple{"--tls-key", &tls_key_text, &result.tls_key}}) {
    if (!app.count(option)) continue;
    if (text->empty())
      return bad_arguments(std::string("invalid ") + option + " '': must be a path");
    *target = *text;
  }

  if (result.tls_certificate.has_value() != result.tls_key.has_value()) {
    return bad_arguments(result.tls_certificate ? "--tls-cert needs --tls-key"
                                                : "--tls-key needs --tls-cert");
  }
  if (result.no_tls && result.tls_certificate)
    return bad_arguments("--no-tls cannot be used with --tls-cert and --tls-key");

  const auto* level = std::find_if(log_levels.begin(), log_levels.end(), [&](const auto& entry) {
    return log_level_text == entry.first;
  });
  if (level == log_levels.end()) {
    return bad_arguments("invalid --log-level '" + log_level_text +
                         "': must be one of trace, debug, info, warn, error, off");
  }
  result.log_level = level->second;

  const auto cost = auth::parse_hash_cost(hash_cost_text);
  if (!cost) {
    return bad_arguments("invalid --hash-cost '" + hash_cost_text +
                         "': must be one of interactive, moderate, test");
  }
  result.hash_cost = *cost;

  if (hash_fairness_text != "on" && hash_fairness_text != "off")
    return bad_arguments("invalid --hash-fairness '" + hash_fairness_text + "': must be on or off");
  result.hash_queue.fair = hash_fairness_text == "on";

  // The whole-number options, checked in this order; the first that is out of its range is the
  // one error reported.
  std::optional<std::string> whole_error;
  const auto whole = [&](const char* name, const std::string& text, std::uint64_t low,
                         std::uint64_t high, std::size_t& into) {
    if (whole_error) return;
    if (const auto value = cli::parse_whole(text, low, high)) {
      into = static_cast<std::size_t>(*value);
      return;
    }
    whole_error = std::string("invalid ") + name + " '" + text + "': must be a whole number from " +
                  std::to_string(low) + " to " + std::to_string(high);
  };
  whole("--hash-threads", hash_threads_text, 1, hash_pool::max_threads, result.hash_threads);
  whole("--max-connections", max_connections_text, 1, max_connections_bound,
        result.max_connections);
  whole("--max-prelogin-frame", max_prelogin_frame_text, 0, parley::proto::max_frame_body,
        result.max_prelogin_frame);
  whole("--max-per-address", max_per_address_text, 0, max_connections_bound,
        result.max_per_address);
  // A queue bound: 0 (off), or at least min_queue_bound.
  const auto queue_bound = [&](const char* name, const std::string& text, std::uint64_t high,
                               std::size_t& into) {
    if (whole_error) return;
    const auto value = cli::parse_whole(text, 0, high);
    if (value && (*value == 0 || *value >= min_queue_bound)) {
      into = static_cast<std::size_t>(*value);
      return;
    }
    whole_error = std::string("invalid ") + name + " '" + text +
                  "': must be 0 or a whole number from " + std::to_string(min_queue_bound) +
                  " to " + std::to_string(high);
  };
  queue_bound("--max-session-queue", max_session_queue_text, max_session_queue_bound,
              result.max_session_queue);
  queue_bound("--max-total-queue", max_total_queue_text, max_total_queue_bound,
              result.max_total_queue);
  whole("--hash-queue", hash_queue_text, 0, max_guard_bound, result.hash_queue.max_waiting);
  whole("--hash-queue-per-address", hash_queue_per_address_text, 0, max_guard_bound,
        result.hash_queue.max_waiting_per_address);
  whole("--login-failures", login_failures_text, 0, max_guard_bound, result.login_failures);
  whole("--login-failures-burst", login_failures_burst_text, 1, max_guard_bound,
        result.login_failures_burst);
  whole("--signups", signups_text, 0, max_guard_bound, result.signups);
  whole("--signups-burst", signups_burst_text, 1, max_guard_bound, result.signups_burst);
  whole("--max-accounts", max_accounts_text, 0, max_accounts_bound, result.max_accounts);
  whole("--budget-addresses", budget_addresses_text, 1, max_guard_bound, result.budget_addresses);
  whole("--max-unanswered-writes", max_unanswered_writes_text, 1, max_guard_bound,
        result.max_unanswered_writes);
  whole("--max-unwritten-bytes", max_unwritten_bytes_text, parley::proto::max_frame_body,
        max_accounts_bound * 4, result.max_unwritten_bytes);
  whole("--max-held-bytes", max_held_bytes_text, parley::proto::max_frame_body,
        max_accounts_bound * 4, result.max_held_bytes);
  whole("--resume-grace", resume_grace_text, 0, max_duration_seconds, result.resume_grace);
  whole("--restart-grace", restart_grace_text, 0, max_duration_seconds, result.restart_grace);
  whole("--ticket-lifetime", ticket_lifetime_text, 0, max_duration_seconds, result.ticket_lifetime);
  if (whole_error) return bad_arguments(*whole_error);
  return result;
}

// ---------------------------------------------------------------- process set-up

void set_up_logging(spdlog::level::level_enum level) {
  // https://no-color.org: any non-empty NO_COLOR turns colour off; so does a non-terminal.
  const char* no_color = std::getenv("NO_COLOR");
  const bool color = (no_color == nullptr || *no_color == '\0') && ::isatty(STDERR_FILENO) == 1;
  auto logger = color ? spdlog::stderr_color_mt("registry") : spdlog::stderr_logger_mt("registry");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

// Each connection holds a descriptor, and the usual soft limit (1024) is far below what the
// hard limit allows: take all of it.
void raise_open_file_limit(std::size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot read the open-file limit: {}", std::strerror(errno));
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    } else {
      spdlog::debug("cannot raise the open-file limit to {}: {}", limit.rlim_max,
                    std::strerror(errno));
    }
  }
  const rlim_t needed = static_cast<rlim_t>(max_connections) + reserved_descriptors;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    spdlog::warn(
        "the open-file limit is {}, too low for --max-connections {} (which needs about {}): "
        "connections fail past it; raise `ulimit -n` or lower --max-connections",
        limit.rlim_cur, max_connections, needed);
  }
}

fs::path default_credentials_path() {
  std::error_code ignored;
  const fs::path local = "credentials.txt";
  return fs::exists(local, ignored) ? local : fs::path("data") / "credentials.txt";
}

std::optional<tcp::endpoint> listen_endpoint(asio::io_context& io, const options& opts) {
  std::error_code ec;
  const auto address = asio::ip::make_address(opts.host, ec);
  if (!ec) return tcp::endpoint(address, opts.port);
  // Not an address literal: a host name such as localhost, resolved once.
  tcp::resolver resolver(io);
  const auto results =
      resolver.resolve(opts.host, std::to_string(opts.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    spdlog::error("cannot resolve --host {}: {}", opts.host,
                  ec ? ec.message() : std::string("no address"));
    return std::nullopt;
  }
  return results.begin()->endpoint();
}

// For the start-up line.
std::string bound_text(std::size_t bound) {
  return bound != 0 ? std::to_string(bound) : std::string("no bound");
}
std::string budget_text(std::size_t count, const char* per, std::size_t burst) {
  if (count == 0) return "no budget";
  return std::to_string(count) + " " + per + " (burst " + std::to_string(burst) + ")";
}

// SPEC 10: the registry's TLS context, or null with --no-tls. The identity is the operator's
// (--tls-cert/--tls-key), else the pair beside the database, made on first start. A database in
// memory keeps nothing, so its key lasts one run: it is made in a private temporary folder,
// loaded, and the files removed. Nothing (the error logged) when it cannot be had.
std::optional<std::unique_ptr<parley::net::tls_context>> set_up_tls(const options& opts,
                                                                    const std::string& database) {
  if (opts.no_tls) {
    spdlog::warn("TLS is off (--no-tls): passwords and messages cross the network in clear");
    return std::unique_ptr<parley::net::tls_context>();
  }
  const bool ephemeral = !opts.tls_certificate && database == ":memory:";
  fs::path temporary;
  fs::path certificate, key;
  if (opts.tls_certificate) {
    certificate = *opts.tls_certificate;
    key = *opts.tls_key;
  } else if (ephemeral) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern =
        (fs::path(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") / "parley-tls-XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      spdlog::error("cannot start: cannot make a folder for this run's TLS key: {}",
                    std::strerror(errno));
      return std::nullopt;
    }
    temporary = pattern;
    certificate = temporary / "tls-cert.pem";
    key = temporary / "tls-key.pem";
  } else {
    certificate = tls::default_certificate_path(database);
    key = tls::default_key_path(database);
  }
  const auto loaded = tls::load_or_create(certificate, key, !opts.tls_certificate);
  std::string error = loaded.error;
  std::unique_ptr<parley::net::tls_context> context;
  if (loaded.found) context = parley::net::tls_context::server(certificate, key, error);
  if (!temporary.empty()) {
    std::error_code ignored;
    fs::remove_all(temporary, ignored);
  }
  if (!context) {
    spdlog::error("cannot start: TLS: {}", error);
    return std::nullopt;
  }
  const auto& found = *loaded.found;
  if (ephemeral) {
    spdlog::warn(
        "TLS key {} made for this run only (the database is in memory): peers that pinned "
        "another run's key will refuse this one; give --tls-cert and --tls-key to keep one",
        found.fingerprint);
  } else {
    spdlog::info("TLS key {} ({}, certificate {}{})", found.fingerprint, key.string(),
                 certificate.string(), found.created ? ", made now" : "");
  }
  return context;
}

int run(const options& opts) {
  if (!auth::initialize()) {
    spdlog::error("libsodium could not be initialised");
    return exit_startup_failure;
  }
  raise_open_file_limit(opts.max_connections);

  const fs::path credentials =
      opts.credentials ? fs::path(*opts.credentials) : default_credentials_path();
  const std::string database =
      opts.database ? *opts.database : (credentials.parent_path() / "registry.db").string();
  if (!opts.database) {
    // The default database sits beside the credentials file, whose folder may not exist yet
    // on a first run without one.
    std::error_code ec;
    const auto folder = credentials.parent_path();
    if (!folder.empty() && !fs::exists(folder, ec) && fs::create_directories(folder, ec)) {
      spdlog::info("created the folder {} for the database", folder.string());
    }
  }

  // A database that is not ours, is damaged, or cannot be written is refused here, untouched.
  auto opened = sqlite_store::open(database);
  if (!opened.store) {
    spdlog::error("cannot start: {}", opened.error);
    return exit_startup_failure;
  }
  sqlite_store& store = *opened.store;
  store.close_dangling_logins(clock::now());

  auto tls_context = set_up_tls(opts, database);
  if (!tls_context) return exit_startup_failure;

#ifdef M_MMAP_THRESHOLD
  // glibc raises its mmap threshold to the size of the largest block freed so far (up to
  // 32 MiB), and its trim threshold to twice that. A burst of presence notices to thousands of
  // sessions builds and frees one such block (the outbox), after which every later block below
  // that size would come from the heap, and up to twice it could stay there unreturned: after a
  // login storm the registry kept megabytes it no longer used. Pinning the threshold at its
  // default keeps large blocks in mappings of their own, returned to the system when freed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif

  // One io_context, run on this thread only: the core, every session and every timer live on it.
  // The hash pool's threads only post to it.
  asio::io_context io{1};
  // The port is claimed before the slow part of start-up (hashing imported users), so a port in
  // use is reported at once; connections are refused until the server listens.
  const auto endpoint = listen_endpoint(io, opts);
  if (!endpoint) return exit_startup_failure;
  tcp::acceptor acceptor(io);
  if (const auto ec = bind_to(acceptor, *endpoint)) {
    spdlog::error("cannot listen on {}: {}", to_string(*endpoint), ec.message());
    return exit_startup_failure;
  }

  hash_pool pool(io, opts.hash_threads, opts.hash_cost, opts.hash_queue);
  import_accounts(credentials, store, pool, clock::now());

  core_config config;
  config.block_duration = opts.block_duration;
  config.idle_timeout = opts.timeout;
  config.new_token = auth::random_token;
  config.login_failures = {opts.login_failures, std::chrono::minutes(1), opts.login_failures_burst};
  config.signups = {opts.signups, std::chrono::hours(1), opts.signups_burst};
  config.max_accounts = opts.max_accounts;
  config.max_budget_addresses = opts.budget_addresses;
  config.max_pending_writes_per_session = opts.max_unanswered_writes;
  config.max_pending_write_bytes = opts.max_unwritten_bytes;
  config.max_held_bytes = opts.max_held_bytes;
  config.resume.resume_grace = std::chrono::seconds(opts.resume_grace);
  config.resume.restart_grace = std::chrono::seconds(opts.restart_grace);
  config.resume.ticket_lifetime = std::chrono::seconds(opts.ticket_lifetime);
  config.resume.new_ticket = auth::random_ticket;
  config.resume.digest_ticket = auth::digest_ticket;
  core registry_core(config, store.load());

  // From here on only the worker's thread uses the store. Its answers reach the server, made
  // next; none is delivered before the io_context runs.
  server* answers_to = nullptr;
  store_worker worker(io, store, [&answers_to](std::vector<store_done>& answers) {
    answers_to->on_store_done(answers);
  });

  server_options server_config;
  server_config.max_connections = opts.max_connections;
  server_config.max_prelogin_frame = opts.max_prelogin_frame;
  server_config.max_per_address = opts.max_per_address;
  // 0: no bound of the session's own (the count's own limit, 4 GiB, is then the bound).
  server_config.connection_limits.max_queued_bytes =
      opts.max_session_queue != 0 ? opts.max_session_queue : max_session_queue_bound;
  server_config.max_total_queue = opts.max_total_queue;
  server_config.tls = tls_context->get();
  server registry_server(io, std::move(acceptor), registry_core, pool, worker, server_config);
  answers_to = &registry_server;
  // Logged just before listening, so that whoever can connect can already read it.
  spdlog::info(
      "listening on {} ({}, credentials: {}, database: {}, block_duration: {}s, timeout: {}s, "
      "login "
      "deadline: {}s, hash cost: {}, hash threads: {}, max connections: {} ({} per address), "
      "pre-login frame bound: {} bytes, outgoing queues: {} per session, {} in all, hash queue: "
      "{} ({} per address, {}), failed logins: {} per address, new accounts: {} per address, max "
      "accounts: {}, resume grace: {}s, restart grace: {}s, ticket lifetime: {}s)",
      to_string(registry_server.local_endpoint()), server_config.tls ? "TLS 1.3" : "plain, no TLS",
      credentials.string(), database, config.block_duration.count(), config.idle_timeout.count(),
      config.login_deadline.count(), auth::to_string(pool.cost()), pool.threads(),
      opts.max_connections,
      opts.max_per_address != 0 ? std::to_string(opts.max_per_address) : std::string("no cap"),
      opts.max_prelogin_frame != 0 ? opts.max_prelogin_frame : parley::proto::max_frame_body,
      opts.max_session_queue != 0 ? std::to_string(opts.max_session_queue) + " bytes"
                                  : std::string("no bound"),
      opts.max_total_queue != 0 ? std::to_string(opts.max_total_queue) + " bytes"
                                : std::string("no budget"),
      bound_text(opts.hash_queue.max_waiting), bound_text(opts.hash_queue.max_waiting_per_address),
      opts.hash_queue.fair ? "addresses take turns" : "in order of arrival",
      budget_text(opts.login_failures, "a minute", opts.login_failures_burst),
      budget_text(opts.signups, "an hour", opts.signups_burst), bound_text(opts.max_accounts),
      opts.resume_grace, opts.restart_grace, opts.ticket_lifetime);

  if (const auto ec = registry_server.start()) {
    spdlog::error("cannot listen on {}: {}", to_string(*endpoint), ec.message());
    return exit_startup_failure;
  }

  io.run();
  return exit_clean_shutdown;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a connection the other side has reset must fail with EPIPE, not kill the
  // registry: OpenSSL writes with plain write(2), without MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  auto parsed = parse_command_line(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const auto& opts = std::get<options>(parsed);

  set_up_logging(opts.log_level);
  try {
    const int code = run(opts);
    // Here the server, the core and the database have all been closed.
    if (code == exit_clean_shutdown) spdlog::info("stopped");
    return code;
  } catch (const parley::registry::storage_error& e) {
    // Thrown by load() only, which runs at start-up only (the account import, the core's
    // construction): a registry that cannot read its database must not serve with none.
    spdlog::error("cannot start: {}", e.what());
    return exit_startup_failure;
  } catch (const std::exception& e) {
    spdlog::critical("stopping on an unexpected error: {}", e.what());
    return exit_startup_failure;
  }
}
