// One user's connection to an IRC server: NICK/USER registration, optionally JOIN of the
// benchmark channel, PRIVMSG to a nick or to the channel, and PONG to every PING.
#pragma once

#include "bench/chat_client.hpp"
#include "bench/irc_line.hpp"
#include "bench/stream.hpp"

#include <asio/ip/tcp.hpp>

#include <string>

namespace parley::bench {

// The channel broadcasts go to.
inline constexpr std::string_view irc_channel = "#bench";

class irc_client final : public chat_client, private stream::handler {
 public:
  irc_client(event_loop& loop, client_events& events, std::size_t user)
      : stream_(loop, *this), events_(events), user_(user) {}

  // Connects and registers as `nick`; with join_channel, is ready only once in irc_channel.
  void start(const asio::ip::tcp::endpoint& server, std::string nick, bool join_channel);

  void send_direct(std::string_view to, std::string_view text) override;
  void send_broadcast(std::string_view text) override;
  void close() override;

  // One received line, without its line ending (public for the tests).
  void on_line(const irc_line& line);

 private:
  enum class state { connecting, registering, joining, ready, done };

  void on_connected() override;
  std::size_t on_bytes(std::string_view data) override;
  void on_closed(std::string_view why) override;
  void fail(std::string_view why);
  void privmsg(std::string_view target, std::string_view text);

  stream stream_;
  client_events& events_;
  std::size_t user_;
  std::string nick_;
  bool join_channel_ = false;
  state state_ = state::done;
};

}  // namespace parley::bench
