#include "peer/net/registry_link.hpp"

#include "shared/net/tls_session.hpp"
#include "shared/proto/codec.hpp"

#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <string_view>
#include <utility>

namespace parley::peer {

registry_link::registry_link(asio::any_io_executor executor)
    : executor_(executor), resolver_(executor), socket_(executor), connect_timer_(executor) {}

registry_link::~registry_link() {
  alive_.reset();
  if (connection_) connection_->close();
}

asio::awaitable<std::error_code> registry_link::connect(std::string host, std::uint16_t port,
                                                        std::string agent,
                                                        const net::tls_context* tls,
                                                        handlers callbacks) {
  using namespace asio::experimental::awaitable_operators;
  handlers_ = std::move(callbacks);
  std::error_code ec;
  const auto attempt = [&]() -> asio::awaitable<void> {
    const auto endpoints = co_await resolver_.async_resolve(
        host, std::to_string(port), asio::ip::resolver_base::numeric_service,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) co_return;
    co_await asio::async_connect(socket_, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  };
  connect_timer_.expires_after(registry_connect_timeout);
  // Whichever ends first wins: the attempt (successful or not), or the timeout.
  const auto winner = co_await (attempt() || connect_timer_.async_wait(asio::use_awaitable));
  if (closed_) co_return asio::error::operation_aborted;
  if (winner.index() == 1) co_return asio::error::timed_out;
  if (ec) co_return ec;

  // SPEC 11: a path that dies in silence (a cable pulled, a NAT that forgot the mapping) is a
  // lost connection too. The kernel probes an idle link after 15 s, every 5 s, 3 times, and gives
  // up on unacknowledged data after 30 s: the loss shows within about 30 s, idle or not, with no
  // frame of ours and nothing for the registry to answer. Best effort: a failure changes nothing.
  {
    const int fd = socket_.native_handle();
    const int on = 1, idle = 15, interval = 5, count = 3;
    const unsigned user_timeout_ms = 30'000;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
  }

  connection_ = net::framed_connection::create(std::move(socket_));
  if (tls) connection_->connect_tls(*tls);
  // The connection's handlers may run after this object is gone (a handler already queued when
  // it is destroyed): they check that it is still alive.
  std::weak_ptr<const bool> alive = alive_;
  connection_->start(
      [this, alive](std::string_view body) {
        if (!alive.expired()) on_frame(body);
      },
      [this, alive](net::close_cause cause, const std::string& detail) {
        if (alive.expired()) return;
        close_cause_ = cause;
        if (close_reason_.empty())
          close_reason_ = std::string(net::describe(cause)) + (detail.empty() ? "" : ": " + detail);
        closed_ = true;
        if (handlers_.on_closed) handlers_.on_closed();
      });
  send(proto::client_hello{proto::protocol_version, proto::agent_string(agent)});
  co_return std::error_code{};
}

bool registry_link::send(const proto::client_message& message) {
  if (!connection_ || closed_) return false;
  return connection_->send(proto::encode_frame(message));
}

asio::ip::address registry_link::local_address() const {
  if (!connection_) return {};
  std::error_code ec;
  const auto endpoint = connection_->socket().local_endpoint(ec);
  return ec ? asio::ip::address{} : endpoint.address();
}

std::string registry_link::verify_error() const {
  if (!connection_ || !connection_->tls()) return {};
  return connection_->tls()->verify_error();
}

void registry_link::close() {
  if (connection_) {
    connection_->close();
    return;
  }
  closed_ = true;
  std::error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  connect_timer_.cancel();
}

void registry_link::on_frame(std::string_view body) {
  auto decoded = proto::decode_server(body);
  if (!decoded.message) {
    close_reason_ = "undecodable frame: " + decoded.error;
    connection_->close();
    return;
  }
  if (handlers_.on_message) handlers_.on_message(*decoded.message);
}

}  // namespace parley::peer
