// Private peer-to-peer chats (SPEC 8). Until the listener and dialer exist, every command says
// that no chat is open; this class is the one place that changes when they arrive.
#pragma once

#include "peer/core/effects.hpp"

#include <string_view>

namespace parley::peer {

class private_chats {
 public:
  // `startprivate <user>` (or `privatestart`).
  void start(std::string_view user, effects& out);
  // `private <user> <text>`.
  void send(std::string_view user, std::string_view text, effects& out);
  // `stopprivate <user>`.
  void stop(std::string_view user, effects& out);
};

}  // namespace parley::peer
