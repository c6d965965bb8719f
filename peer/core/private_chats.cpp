#include "peer/core/private_chats.hpp"

#include "peer/core/texts.hpp"

namespace parley::peer {

void private_chats::start(std::string_view, effects& out) {
  out.print(texts::private_not_available);
}

// With no chat open, sending or stopping names a chat that is not enabled (SPEC 4).
void private_chats::send(std::string_view user, std::string_view, effects& out) {
  out.print(texts::private_not_enabled(user));
}

void private_chats::stop(std::string_view user, effects& out) {
  out.print(texts::private_not_enabled(user));
}

}  // namespace parley::peer
