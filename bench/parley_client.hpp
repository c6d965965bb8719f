// One user's connection to the registry: the hello, the login dialogue (creating the account if
// the registry says the name is new), then benchmark texts both ways. Deliveries and command
// replies, nearly every frame of a run, are read in place (bench/wire.hpp); the rest goes through
// the codec.
#pragma once

#include "bench/chat_client.hpp"
#include "bench/stream.hpp"

#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace parley::bench {

class parley_client final : public chat_client, private stream::handler {
 public:
  parley_client(event_loop& loop, client_events& events, std::size_t user)
      : stream_(loop, *this), events_(events), user_(user) {}

  // Connects and logs in as `name`. With a private_port, announces it (private_listen) before
  // logging in, as the peer does.
  // `from`: the local address to connect from (SPEC 9.1 counts per address).
  void start(const asio::ip::tcp::endpoint& registry, std::string name, std::string password,
             std::optional<std::uint16_t> private_port = std::nullopt,
             const std::optional<asio::ip::address>& from = std::nullopt);

  void send_direct(std::string_view to, std::string_view text) override;
  void send_broadcast(std::string_view text) override;
  void close() override;

  // A message off the hot path, through the codec.
  void send(const proto::client_message& message);
  // Sends logout_request; on_logged_out follows when the registry confirms it.
  void logout();

  std::size_t user() const { return user_; }
  // Reuse of a finished client (login-storm) for another user.
  bool is_idle() const { return stream_.is_idle(); }
  void reset(std::size_t user) { user_ = user; }

 private:
  enum class state { connecting, logging_in, ready, logging_out, done };

  void on_connected() override;
  std::size_t on_bytes(std::string_view data) override;
  void on_closed(std::string_view why) override;

  void on_frame(std::string_view body);
  void on_message(const proto::server_message& message);
  void on_login_reply(proto::login_result result);
  void fail(std::string_view why);

  stream stream_;
  client_events& events_;
  std::size_t user_;
  std::string name_;
  std::string password_;
  std::optional<std::uint16_t> private_port_;
  state state_ = state::done;
};

}  // namespace parley::bench
