#include "registry/net/server.hpp"

#include "registry/auth/secret.hpp"
#include "shared/net/tls_session.hpp"
#include "shared/proto/codec.hpp"
#include "shared/util/host_port.hpp"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <exception>
#include <utility>
#include <variant>

namespace parley::registry {
namespace {

using asio::ip::tcp;

// The core's deadlines are wall-clock times but the timer waits on the steady clock: waking at
// least this often bounds how late a deadline can be met if the wall clock is changed meanwhile.
constexpr std::chrono::seconds max_tick_wait{60};
// After an accept failure for want of descriptors or memory, wait this long before the next
// attempt, so that closing sessions can free some instead of the loop spinning on the error.
constexpr std::chrono::milliseconds accept_retry_delay{100};
// Connections taken from the backlog at once, after the wait for the first (see accept_loop).
constexpr std::size_t max_accepts_per_wake = 64;
// Connections refused for their address that are told so at once (see server::refuse_address).
constexpr std::size_t max_refusing = 64;

// The address the core hands to other peers for private chats: an IPv4 client reaching an IPv6
// listener shows up as ::ffff:a.b.c.d, which is given back in its IPv4 form.
std::string peer_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool is_resource_shortage(const std::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == std::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Ordinary ends are debug noise; ends that say something about a user or a peer are not.
spdlog::level::level_enum log_level_for(end_cause cause) {
  switch (cause) {
    case end_cause::logged_out:
    case end_cause::shutdown:
    case end_cause::shutdown_resumable: return spdlog::level::debug;
    case end_cause::resumed_elsewhere:
    case end_cause::inactivity:
    case end_cause::locked_out:
    case end_cause::login_timeout: return spdlog::level::info;
    case end_cause::protocol_error:
    case end_cause::not_resumable:
    case end_cause::overloaded:
    case end_cause::login_budget:
    case end_cause::signup_budget:
    case end_cause::hash_busy: return spdlog::level::warn;
  }
  return spdlog::level::info;
}

// A peer that breaks the frame bound, and a session dropped as a slow reader, are worth a
// warning; the other ways a connection ends are ordinary.
spdlog::level::level_enum log_level_for(parley::net::close_cause cause) {
  switch (cause) {
    case parley::net::close_cause::frame_too_large:
    case parley::net::close_cause::queue_overflow:
    case parley::net::close_cause::queue_budget:
    case parley::net::close_cause::tls_mismatch: return spdlog::level::warn;
    case parley::net::close_cause::tls_failed: return spdlog::level::info;
    default: return spdlog::level::debug;
  }
}

// The option whose bound a dropped slow reader passed, for the log.
const char* bound_option(parley::net::close_cause cause) {
  return cause == parley::net::close_cause::queue_budget ? "--max-total-queue"
                                                         : "--max-session-queue";
}

}  // namespace

std::string to_string(const tcp::endpoint& endpoint) {
  return parley::host_port(endpoint.address().to_string(), endpoint.port());
}

std::error_code bind_to(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  std::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  // A restart must not wait for the previous run's connections to leave TIME_WAIT.
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

server::server(asio::io_context& io, tcp::acceptor acceptor, core& core, hash_pool& pool,
               store_worker& store, server_options options)
    : io_(io),
      core_(core),
      pool_(pool),
      store_(store),
      options_(options),
      acceptor_(std::move(acceptor)),
      signals_(io, SIGINT, SIGTERM),
      tick_timer_(io),
      grace_timer_(io),
      presence_timer_(io),
      too_many_connections_frame_(
          proto::make_frame(proto::session_end{proto::end_reason::too_many_connections})) {
  parley::net::set_total_queue_budget(io_, options_.max_total_queue);
  tls_acceptor_.context = options_.tls;
  tls_acceptor_.refuse_plain =
      proto::make_frame(proto::session_end{proto::end_reason::tls_required});
  tls_acceptor_.refuse_tls =
      proto::make_frame(proto::session_end{proto::end_reason::tls_not_offered});
}

tcp::endpoint server::local_endpoint() const {
  std::error_code ignored;
  return acceptor_.local_endpoint(ignored);
}

std::error_code server::start() {
  std::error_code ec;
  acceptor_.listen(tcp::socket::max_listen_connections, ec);
  if (ec) return ec;
  // accept_loop empties the backlog with direct accepts, which must fail at once when it is empty.
  acceptor_.non_blocking(true, ec);
  if (ec) return ec;
  // An exception escaping the accept loop is a bug: it is rethrown out of io_context::run() so
  // that main reports it, instead of the registry silently no longer accepting.
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);
  });
  wait_for_signal();
  // SPEC 11: the sessions online at the last stop wait for their resume from now on.
  call_core([&](time_point now, effects& out) { core_.on_start(now, out); });
  if (const auto restored = core_.online_users(); restored > 0)
    spdlog::info("{} session{} from before the restart may be resumed", restored,
                 restored == 1 ? "" : "s");
  arm_tick_timer();
  return ec;
}

asio::awaitable<void> server::accept_loop() {
  asio::steady_timer retry_timer(io_);
  while (!stopping_) {
    std::error_code ec;
    auto socket =
        co_await acceptor_.async_accept(io_, asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (!is_resource_shortage(ec)) {
        // The client gave up before we took its connection (ECONNABORTED and the like).
        spdlog::debug("accept failed: {}", ec.message());
        continue;
      }
      spdlog::warn("accept failed: {}; retrying in {} ms", ec.message(),
                   accept_retry_delay.count());
      retry_timer.expires_after(accept_retry_delay);
      co_await retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    take(std::move(socket));
    // One readiness wait per connection would admit one connection per turn of the event loop,
    // and a turn with thousands of clients online lasts milliseconds: whoever else is already
    // waiting in the backlog is taken now, without waiting again.
    for (std::size_t more = 1; more < max_accepts_per_wake && !stopping_; ++more) {
      auto next = acceptor_.accept(io_, ec);
      if (ec) break;  // would_block: the backlog is empty; anything else: the async path says
      take(std::move(next));
    }
  }
}

void server::take(socket_type socket) {
  if (sessions_.size() >= options_.max_connections) return refuse(std::move(socket));
  auto connection =
      parley::net::framed_connection::create(std::move(socket), options_.connection_limits);
  // TLS or plain, as the client's first byte says; a client of the other kind hears why (also
  // when refused below, so that a TLS client reads its refusal).
  connection->accept_tls(tls_acceptor_);
  if (prelogin_bound()) connection->set_max_frame_body(options_.max_prelogin_frame);
  // The address is the connection's own (read once, when it was made), so that on_close
  // forgets exactly the address counted here.
  const auto address = peer_address(connection->remote_endpoint().address());
  if (options_.max_per_address != 0) {
    auto& open = per_address_[address];
    if (open >= options_.max_per_address) return refuse_address(std::move(connection), address);
    ++open;
  }
  on_accept(std::move(connection), address);
}

void server::forget_address(const std::string& address) {
  if (options_.max_per_address == 0) return;
  const auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
}

void server::refuse_address(std::shared_ptr<parley::net::framed_connection> connection,
                            const std::string& address) {
  const std::size_t open = per_address_[address];
  if (address_refusal_log_.admit(log_limiter::clock::now())) {
    spdlog::warn(
        "refused a connection from {}: {} connections from it are open, the --max-per-address "
        "bound{}",
        address, open, address_refusal_log_.suffix());
  }
  // Telling them why costs a connection object for at most its linger; past this many at once
  // the rest are closed without a word.
  if (refusing_.size() >= max_refusing) return connection->close();
  const session_id id = next_session_id_++;
  connection->start(*this, id);
  connection->send(too_many_connections_frame_);
  connection->close_after_flush();
  refusing_.emplace(id, std::move(connection));
}

void server::refuse(socket_type socket) {
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  socket.close(ec);
  if (!refusal_log_.admit(log_limiter::clock::now())) return;
  spdlog::warn("refused a connection from {}: {} connections open, the --max-connections bound{}",
               to_string(remote), sessions_.size(), refusal_log_.suffix());
}

void server::on_accept(std::shared_ptr<parley::net::framed_connection> connection,
                       const std::string& address) {
  const session_id id = next_session_id_++;
  const auto& entry = sessions_[id] = session{connection};
  if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{} connected", label(id, entry));

  call_core([&](time_point now, effects& out) { core_.on_connect(id, address, now, out); });
  // The connection reports to this server with the id, and holds no reference to the session:
  // the map owns the connection, and a late event for a session that has gone finds nothing.
  connection->start(*this, id);
}

std::string server::label(session_id id, const session& entry) {
  return "session " + std::to_string(id) + " (" + to_string(entry.connection->remote_endpoint()) +
         ")";
}

void server::on_frame(session_id id, std::string_view body) {
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto decoded = proto::decode_client(body);
  if (!decoded.message) {
    // The core is told through on_close, like for any other lost connection.
    spdlog::warn("{}: {}; closing the connection", label(id, it->second), decoded.error);
    it->second.connection->close(parley::net::close_cause::closed_locally,
                                 "undecodable frame: " + decoded.error);
    return;
  }
  call_core(
      [&](time_point now, effects& out) { core_.on_message(id, *decoded.message, now, out); });
  if (auto* password = std::get_if<proto::login_password>(&*decoded.message)) {
    wipe(password->password.value);
  }
  // Its commands wait for the store: read no more of them until it has answered (SPEC 9.1).
  if (!core_.accepts_input(id) && paused_.insert(id).second) it->second.connection->pause_reading();
}

void server::on_store_done(std::vector<store_done>& answers) {
  // Also while stopping: the acknowledgements and session ends wait for these answers.
  call_core([&](time_point now, effects& out) { core_.on_store_done(answers, now, out); });
  for (auto it = paused_.begin(); it != paused_.end();) {
    if (!core_.accepts_input(*it)) {
      ++it;
      continue;
    }
    if (const auto session = sessions_.find(*it); session != sessions_.end())
      session->second.connection->resume_reading();
    it = paused_.erase(it);
  }
}

void server::on_close(session_id id, parley::net::close_cause cause, const std::string& detail) {
  if (refusing_.erase(id) != 0) return;
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  paused_.erase(id);
  forget_address(peer_address(it->second.connection->remote_endpoint().address()));
  // The causes an attacker could repeat are logged at most once a second each, with a count.
  log_limiter* limiter = nullptr;
  switch (cause) {
    case parley::net::close_cause::frame_too_large: limiter = &oversized_frame_log_; break;
    case parley::net::close_cause::queue_overflow: limiter = &slow_reader_log_; break;
    case parley::net::close_cause::queue_budget: limiter = &queue_budget_log_; break;
    case parley::net::close_cause::tls_mismatch: limiter = &tls_mismatch_log_; break;
    case parley::net::close_cause::tls_failed: limiter = &tls_failed_log_; break;
    default: break;
  }
  if (spdlog::should_log(log_level_for(cause)) &&
      (!limiter || limiter->admit(log_limiter::clock::now()))) {
    const auto suffix = limiter ? limiter->suffix() : std::string();
    if (cause == parley::net::close_cause::queue_overflow ||
        cause == parley::net::close_cause::queue_budget) {
      // SPEC 12: a dropped session is logged with its user and address.
      const auto user = core_.user_of(id);
      spdlog::warn("{}{}{}: dropped: {} ({}): {}{}", label(id, it->second),
                   user.empty() ? "" : " user ", user, parley::net::describe(cause),
                   bound_option(cause), detail, suffix);
    } else {
      // A closed_locally detail already says why (the decode error, the shutdown).
      const std::string why = detail.empty() ? parley::net::describe(cause)
                              : cause == parley::net::close_cause::closed_locally
                                  ? detail
                                  : std::string(parley::net::describe(cause)) + ": " + detail;
      spdlog::log(log_level_for(cause), "{} closed: {}{}", label(id, it->second), why, suffix);
    }
  }
  sessions_.erase(it);
  // SPEC 9.1: a password job of a connection that has gone never runs.
  pool_.cancel(id);
  call_core([&](time_point now, effects& out) { core_.on_disconnect(id, now, out); });
  if (stopping_ && sessions_.empty()) finish_shutdown();
}

void server::on_hash_done(hash_done result) {
  // While stopping, every session has already been told session_end: a late answer goes nowhere.
  if (stopping_) return;
  call_core([&](time_point now, effects& out) { core_.on_hash_done(result, now, out); });
}

void server::on_tick() {
  tick_armed_for_.reset();
  if (stopping_) return;
  call_core([&](time_point now, effects& out) { core_.on_tick(now, out); });
}

template <class Call>
void server::call_core(Call&& call) {
  effects_.clear();
  std::forward<Call>(call)(clock::now(), effects_);
  apply_effects();
  if (!stopping_) arm_tick_timer();
  // The turn's presence notices go out once everything ready now has been handled: the end is
  // posted behind the handlers already queued (the rest of a batch of hash answers, the reads
  // the reactor found), so they all share it. Each one costs a write to every online
  // connection: in a login storm they come at most every presence_interval.
  if (!turn_end_posted_ && core_.turn_end_pending()) {
    turn_end_posted_ = true;
    const auto due = last_turn_end_ + presence_interval;
    if (std::chrono::steady_clock::now() >= due) {
      asio::post(io_, [this] { end_turn(); });
    } else {
      presence_timer_.expires_at(due);
      presence_timer_.async_wait([this](std::error_code ec) {
        if (!ec) end_turn();
      });
    }
  }
}

void server::end_turn() {
  turn_end_posted_ = false;
  last_turn_end_ = std::chrono::steady_clock::now();
  call_core([&](time_point now, effects& out) { core_.on_turn_end(now, out); });
}

void server::apply_effects() {
  // Nothing here calls back into the core: framed_connection reports closes asynchronously, the
  // hash pool and the store worker answer through the io_context's queue. The writes go first,
  // so the worker starts on them while the frames are queued.
  store_.submit(effects_.writes);
  // A session that has logged in may send frames as large as any message.
  if (prelogin_bound()) {
    for (const session_id id : effects_.logins) {
      if (const auto it = sessions_.find(id); it != sessions_.end())
        it->second.connection->set_max_frame_body(options_.connection_limits.max_frame_body);
    }
  }
  for (auto& send : effects_.sends) {
    const auto it = sessions_.find(send.to);
    // Gone, or closing after its session_end: nothing more is sent to it.
    if (it == sessions_.end() || !it->second.connection->is_open()) continue;
    // A send refused for a queue bound drops that session, or the slowest reader if the total
    // passed its budget: on_close logs it.
    it->second.connection->send(std::move(send.frame));
  }
  for (const auto& end : effects_.ends) {
    const auto it = sessions_.find(end.session);
    if (it == sessions_.end()) continue;
    // A guard that bites may bite thousands of times a second: those lines are rate-limited.
    log_limiter* limiter = guard_log(end.cause);
    if (spdlog::should_log(log_level_for(end.cause)) &&
        (!limiter || limiter->admit(log_limiter::clock::now()))) {
      const std::string_view cause = describe(end.cause);
      const bool say_detail = !end.detail.empty() && end.detail != cause;
      spdlog::log(log_level_for(end.cause), "{} ended: {}{}{}{}", label(end.session, it->second),
                  cause, say_detail ? ": " : "", say_detail ? std::string_view(end.detail) : "",
                  limiter ? limiter->suffix() : std::string());
    }
    it->second.connection->close_after_flush();
  }
  for (const auto& note : effects_.notes) spdlog::info("{}", note);
  for (auto& job : effects_.hashes) {
    pool_.submit(std::move(job), [this](hash_done result) { on_hash_done(std::move(result)); });
  }
  effects_.clear();
}

log_limiter* server::guard_log(end_cause cause) {
  switch (cause) {
    case end_cause::login_budget: return &login_budget_log_;
    case end_cause::signup_budget: return &signup_budget_log_;
    case end_cause::hash_busy: return &hash_busy_log_;
    case end_cause::not_resumable: return &resume_refused_log_;
    default: return nullptr;
  }
}

void server::arm_tick_timer() {
  const auto deadline = core_.next_deadline();
  // Re-arming only for an earlier deadline keeps this cheap after every call; a timer that
  // fires for a deadline that has since moved later finds nothing due and re-arms.
  if (!deadline || (tick_armed_for_ && *deadline >= *tick_armed_for_)) return;
  tick_armed_for_ = deadline;
  const auto delay =
      std::clamp<clock::duration>(*deadline - clock::now(), clock::duration::zero(), max_tick_wait);
  tick_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
  tick_timer_.async_wait([this](std::error_code ec) {
    if (!ec) on_tick();
  });
}

void server::wait_for_signal() {
  signals_.async_wait([this](std::error_code ec, int number) {
    if (ec) return;
    spdlog::info("received {}", number == SIGINT ? "SIGINT" : "SIGTERM");
    stop();
    // A second signal while sessions are still flushing closes them at once.
    if (!finished_) wait_for_signal();
  });
}

void server::stop() {
  if (finished_) return;
  if (stopping_) {
    close_all("asked to stop again");
    return;
  }
  stopping_ = true;
  spdlog::info("shutting down: no longer accepting; ending {} sessions", sessions_.size());
  std::error_code ignored;
  acceptor_.close(ignored);
  tick_timer_.cancel();
  tick_armed_for_.reset();
  call_core([&](time_point now, effects& out) { core_.on_shutdown(now, out); });
  if (sessions_.empty()) {
    finish_shutdown();
    return;
  }
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](std::error_code ec) {
    if (!ec) close_all("still open after the shutdown grace period");
  });
}

void server::close_all(const char* why) {
  if (sessions_.empty()) return;
  spdlog::warn("closing {} connections now: {}", sessions_.size(), why);
  // close() never calls on_close from inside itself, so the map does not change under the loop.
  for (auto& [id, entry] : sessions_) {
    entry.connection->close(parley::net::close_cause::closed_locally, "registry shutting down");
  }
}

void server::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  grace_timer_.cancel();
  tick_timer_.cancel();
  presence_timer_.cancel();
  std::error_code ignored;
  signals_.cancel(ignored);
  spdlog::debug("every connection is closed");
  // A password hash still running on the pool has no one left to answer: stop waiting for it.
  io_.stop();
}

}  // namespace parley::registry
