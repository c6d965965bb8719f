// What the workloads see of a connection, whatever it speaks (Parley to the registry, IRC, or a
// Parley private chat): start it, send texts, and hear back through client_events.
#pragma once

#include "shared/proto/messages.hpp"

#include <cstddef>
#include <limits>
#include <string_view>

namespace parley::bench {

inline constexpr std::size_t no_user = std::numeric_limits<std::size_t>::max();

enum class message_kind { direct, broadcast, private_text };

class p2p_link;

// Implemented by the workload runner. `user` is the index the client was made for.
class client_events {
 public:
  virtual ~client_events() = default;
  // Logged in (IRC: registered, and in the channel if asked); a private chat: handshake done.
  virtual void on_ready(std::size_t user) = 0;
  // A benchmark text arrived for `user`. `from` is the sender's name as the server relayed it
  // (empty on a private chat, where the connection itself says who it is).
  virtual void on_message(std::size_t user, std::string_view from, std::string_view text,
                          message_kind kind) = 0;
  // Something went wrong that the run survives (a refused message, an unexpected reply).
  virtual void on_error(std::size_t user, std::string_view what) = 0;
  // The connection ended (or never started) without being asked to.
  virtual void on_lost(std::size_t user, std::string_view why) = 0;
  // Parley only: answers to commands, and the registry's private-chat messages.
  virtual void on_reply(std::size_t /*user*/, proto::outcome /*result*/) {}
  virtual void on_private(std::size_t /*user*/, const proto::server_message& /*message*/) {}
  // Parley only: the registry confirmed a logout.
  virtual void on_logged_out(std::size_t /*user*/) {}
  // A private-chat connection someone dialed presented its p2p_open, with the requester's key.
  virtual void on_p2p_open(p2p_link& /*link*/, const proto::chat_public_key& /*requester_key*/) {}
};

class chat_client {
 public:
  virtual ~chat_client() = default;
  // To a user by name (a private chat has only one: `to` is ignored).
  virtual void send_direct(std::string_view to, std::string_view text) = 0;
  virtual void send_broadcast(std::string_view text) = 0;
  // Ends the connection at once; no event follows.
  virtual void close() = 0;
};

}  // namespace parley::bench
