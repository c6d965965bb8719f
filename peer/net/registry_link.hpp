// The peer's connection to the registry: connect (bounded by a timeout), send the hello, then
// decoded registry messages in and client messages out over a framed connection.
//
// A frame that does not decode ends the link: the registry is not speaking our protocol, and
// nothing it sends after that can be trusted to line up with our requests.
//
// Private chats (SPEC 8) get their own listener and dialer beside this class; they share only
// the executor.
#pragma once

#include "shared/net/framed_connection.hpp"
#include "shared/proto/messages.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace parley::peer {

// How long resolving and connecting to the registry may take together.
inline constexpr std::chrono::seconds registry_connect_timeout{10};

class registry_link {
 public:
  struct handlers {
    // One decoded, validated message, in order.
    std::function<void(const proto::server_message&)> on_message;
    // The link has ended, for whatever reason (called once, never from inside close()).
    std::function<void()> on_closed;
  };

  explicit registry_link(asio::any_io_executor executor);
  ~registry_link();
  registry_link(const registry_link&) = delete;
  registry_link& operator=(const registry_link&) = delete;

  // Resolves `host`, connects, sends client_hello{protocol_version, agent} and starts reading.
  // With `tls` (SPEC 10), the link is a TLS session on that context: the hello and whatever is
  // sent next wait for the handshake, whose certificate check decides whether they leave at
  // all. Returns the error when the TCP connection fails (asio::error::timed_out past the
  // timeout, or operation_aborted if close() was called meanwhile); a failed handshake ends the
  // link later, through on_closed.
  asio::awaitable<std::error_code> connect(std::string host, std::uint16_t port, std::string agent,
                                           const net::tls_context* tls, handlers callbacks);

  // Queues one message. Returns false once the link has ended.
  bool send(const proto::client_message& message);

  // Ends the link now (or abandons a connect in progress).
  void close();

  // The local address of the connected link: private chats are listened for there, so that
  // others reach this peer the way the registry does. Unspecified before connect() succeeds.
  asio::ip::address local_address() const;

  // Why the link ended, for the curious (tests, logs).
  const std::string& close_reason() const { return close_reason_; }
  // How the connection ended (valid once on_closed has run).
  net::close_cause close_cause() const { return close_cause_; }
  // Why the other side's certificate was refused (OpenSSL's words), or empty.
  std::string verify_error() const;

 private:
  void on_frame(std::string_view body);

  asio::any_io_executor executor_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;  // only while connecting: then the connection owns it
  asio::steady_timer connect_timer_;
  std::shared_ptr<net::framed_connection> connection_;
  handlers handlers_;
  std::string close_reason_;
  net::close_cause close_cause_ = net::close_cause::closed_locally;
  bool closed_ = false;
  // Expires with this object; the connection's handlers hold a weak_ptr to it.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
};

}  // namespace parley::peer
