// The registry's imperative shell: sockets, timers and signals around the core. It accepts
// connections, decodes their frames, hands each event to the core with the current time, and
// applies the effects the core returns (send frames, end sessions, hash passwords, store rows).
//
// Everything here runs on the io_context's one thread: the core, the session map and the reused
// effects object are touched from no other thread. Only the hash pool and the store worker have
// threads of their own, and they reach the core by posting back to the io_context.
#pragma once

#include "registry/auth/hash_pool.hpp"
#include "registry/core/registry_core.hpp"
#include "registry/net/log_limiter.hpp"
#include "registry/store/store_worker.hpp"
#include "shared/net/framed_connection.hpp"

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace parley::registry {

// "127.0.0.1:3331", "[::1]:3331": for the log.
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

inline constexpr std::size_t default_max_prelogin_frame = 1024;
// The least time between two ends of a turn that send presence notices (core::on_turn_end): a
// lone login is announced at once; in a storm of logins to thousands online, whose every batch
// costs a write to each of them, the notices gather into a batch per recipient this often.
inline constexpr std::chrono::milliseconds presence_interval{150};
// A class or an office behind one NAT must fit.
inline constexpr std::size_t default_max_per_address = 256;
// SPEC 9.1: the outgoing queue of one session, and the sum over all of them (counted as
// connection_limits.max_queued_bytes counts them).
inline constexpr std::size_t default_max_session_queue = 1024 * 1024;
inline constexpr std::size_t default_max_total_queue = 256 * 1024 * 1024;

// The limits of every registry connection: the defaults, with the session's queue bound.
inline parley::net::connection_limits default_connection_limits() {
  parley::net::connection_limits limits;
  limits.max_queued_bytes = default_max_session_queue;
  return limits;
}

struct server_options {
  // Connections over this bound are accepted and closed at once.
  std::size_t max_connections = 16384;
  // SPEC 9.1: the bound of one frame until the session has logged in (a hello or a login frame
  // is far smaller), so that unauthenticated sockets cannot each make the registry hold a large
  // partial frame. 0: connection_limits.max_frame_body from the start.
  std::size_t max_prelogin_frame = default_max_prelogin_frame;
  // SPEC 9.1: connections open at once from one IP address; one more is told
  // session_end{too_many_connections} and closed. 0: no cap.
  std::size_t max_per_address = default_max_per_address;
  // After SIGINT/SIGTERM, how long sessions get to flush their session_end and close.
  std::chrono::milliseconds shutdown_grace{2000};
  // connection_limits.max_queued_bytes is --max-session-queue.
  parley::net::connection_limits connection_limits = default_connection_limits();
  // SPEC 9.1: the budget of all outgoing queues together (--max-total-queue); a send that would
  // pass it drops the slowest readers first. 0: no budget.
  std::size_t max_total_queue = default_max_total_queue;
  // SPEC 10: the context of the registry's TLS identity; null runs the plain protocol
  // (--no-tls). Either way a client speaking the other transport is told so and closed.
  const parley::net::tls_context* tls = nullptr;
};

// Opens and binds; an error (address in use, no such address) is returned, not thrown. Separate
// from the server so that main can claim the port before the slow start-up work, while
// connections are still refused (nothing listens until server::start).
std::error_code bind_to(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint);

class server : private parley::net::framed_connection::owner {
 public:
  // `acceptor` is bound already (bind_to).
  server(asio::io_context& io, asio::ip::tcp::acceptor acceptor, core& core, hash_pool& pool,
         store_worker& store, server_options options);
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  asio::ip::tcp::endpoint local_endpoint() const;

  // Listens, starts accepting and watching SIGINT/SIGTERM; a listen error is returned. The
  // caller then runs the io_context, which returns once a shutdown has finished.
  std::error_code start();

  // A graceful shutdown: stop accepting, let the core end every session, wait until every
  // connection has closed or the grace period has passed, then stop the io_context. A second
  // call closes the remaining connections at once.
  void stop();

  // The store worker's answers (it is made before the server, so main routes them here).
  void on_store_done(std::vector<store_done>& answers);

 private:
  // Only what the shell needs: every byte here is paid once per connected client. The log's
  // label is built from the id and the connection when a line is written.
  struct session {
    std::shared_ptr<parley::net::framed_connection> connection;
  };
  // "session 7 (127.0.0.1:50312)", for the log.
  static std::string label(session_id id, const session& entry);

  asio::awaitable<void> accept_loop();
  // A new connection: a session, or refused over max_connections.
  using socket_type = parley::net::framed_connection::socket_type;
  void take(socket_type socket);
  void on_accept(std::shared_ptr<parley::net::framed_connection> connection,
                 const std::string& address);
  void refuse(socket_type socket);
  // Over max_per_address: the connection hears why, then closes (kept in refusing_ meanwhile).
  void refuse_address(std::shared_ptr<parley::net::framed_connection> connection,
                      const std::string& address);
  void forget_address(const std::string& address);
  // framed_connection::owner, with the session id as the connection's tag.
  void on_frame(session_id id, std::string_view body) override;
  void on_close(session_id id, parley::net::close_cause cause, const std::string& detail) override;
  void on_hash_done(hash_done result);
  // Whether connections start with the smaller pre-login frame bound.
  bool prelogin_bound() const {
    return options_.max_prelogin_frame != 0 &&
           options_.max_prelogin_frame < options_.connection_limits.max_frame_body;
  }
  void on_tick();
  void wait_for_signal();

  // Calls into the core with the current time and the reused effects object, then applies the
  // effects and re-arms the tick timer.
  template <class Call>
  void call_core(Call&& call);
  void apply_effects();
  // The limiter of a kind of end a flood could repeat; null for the others.
  log_limiter* guard_log(end_cause cause);
  // The posted end of a turn of the loop (core::on_turn_end).
  void end_turn();
  void arm_tick_timer();
  void close_all(const char* why);
  void finish_shutdown();

  asio::io_context& io_;
  core& core_;
  hash_pool& pool_;
  store_worker& store_;
  server_options options_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  // One timer for every deadline the core keeps (login deadlines, inactivity): armed at
  // core.next_deadline().
  asio::steady_timer tick_timer_;
  std::optional<time_point> tick_armed_for_;
  asio::steady_timer grace_timer_;
  std::unordered_map<session_id, session> sessions_;
  // Sessions whose reading is paused until the store answers their commands (accepts_input).
  std::unordered_set<session_id> paused_;
  // Session ids are never reused, so a late event can never reach a newer session.
  session_id next_session_id_ = 1;
  effects effects_;
  bool stopping_ = false;
  bool finished_ = false;
  // core.on_turn_end is posted (or its timer armed) and has not run yet.
  bool turn_end_posted_ = false;
  std::chrono::steady_clock::time_point last_turn_end_{};
  asio::steady_timer presence_timer_;
  // The warnings a flood could repeat: each kind logged at most once a second, with a count.
  log_limiter refusal_log_;
  log_limiter address_refusal_log_;
  log_limiter slow_reader_log_;
  log_limiter queue_budget_log_;
  log_limiter oversized_frame_log_;
  // SPEC 9.1's login guards (the failed-password and sign-up budgets, the hash queue's bounds).
  log_limiter login_budget_log_;
  log_limiter signup_budget_log_;
  log_limiter hash_busy_log_;
  log_limiter resume_refused_log_;
  // Clients of the other transport, and failed handshakes (scanners, a changed pin).
  log_limiter tls_mismatch_log_;
  log_limiter tls_failed_log_;
  // Open connections per address (the form the core sees), for max_per_address; an address
  // leaves the map with its last connection.
  std::unordered_map<std::string, std::size_t> per_address_;
  // Connections refused for their address, until their session_end is flushed (at most
  // max_refusing at once; more are closed without a word).
  std::unordered_map<session_id, std::shared_ptr<parley::net::framed_connection>> refusing_;
  proto::frame_ptr too_many_connections_frame_;
  // How each connection's first byte is read (TLS or plain), with the refusals of the other.
  parley::net::tls_acceptor tls_acceptor_;
};

}  // namespace parley::registry
