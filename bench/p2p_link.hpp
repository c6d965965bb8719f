// One private chat connection (docs/PROTOCOL.md section 8). The generator plays both peers: the
// requester dials the granted address and presents the token (dial), and the target's listener
// takes the connection (adopt), hears the hello and accepts it once the runner has matched the
// token with a private_expect.
#pragma once

#include "bench/chat_client.hpp"
#include "bench/stream.hpp"

#include <asio/ip/tcp.hpp>

#include <string>

namespace parley::bench {

class p2p_link final : public chat_client, private stream::handler {
 public:
  p2p_link(event_loop& loop, client_events& events) : stream_(loop, *this), events_(events) {}

  // The requester's side: connect, send the hello; ready when the other side accepts.
  void dial(std::size_t user, const asio::ip::tcp::endpoint& to, std::string from,
            std::string token);
  // The listener's side: wait for the hello (the runner hears it through on_p2p_hello).
  void adopt(asio::ip::tcp::socket socket);
  // The runner found the hello's token: this link now carries `user`'s chat.
  void accept(std::size_t user);

  void send_direct(std::string_view to, std::string_view text) override;
  void send_broadcast(std::string_view text) override;
  void close() override;

  std::size_t user() const { return user_; }

 private:
  enum class state { dialing, awaiting_accept, awaiting_hello, awaiting_match, open, done };

  void on_connected() override;
  std::size_t on_bytes(std::string_view data) override;
  void on_closed(std::string_view why) override;
  void on_frame(std::string_view body);
  void fail(std::string_view why);

  stream stream_;
  client_events& events_;
  std::size_t user_ = no_user;
  std::string from_;
  std::string token_;
  state state_ = state::done;
};

}  // namespace parley::bench
