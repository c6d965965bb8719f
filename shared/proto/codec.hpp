// Encoding and hardened decoding of frames. Bodies are cereal portable-binary archives of one
// variant (client_message or server_message).
#pragma once

#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::proto {

// A decoded message, or the reason it was refused.
template <class Message>
struct decoded {
  std::optional<Message> message;
  std::string error;  // empty when message is set
};

// Whole frames (header + body). A message that breaks its own bounds is a programming error:
// encoding it throws std::invalid_argument.
std::string encode_frame(const client_message& message);
std::string encode_frame(const server_message& message);
std::string encode_frame(const p2p_message& message);
frame_ptr make_frame(const server_message& message);
// The same bytes as make_frame(delivery{from, text, kind}), written directly: the registry's hot
// path (every direct message and broadcast), without copying the strings into a message first.
// Validates the same way and throws std::invalid_argument the same way.
frame_ptr make_delivery_frame(std::string_view from, std::string_view text, delivery_kind kind);

// Decode one frame body. Never throws: a truncated body, a size tag past its bound, an unknown
// tag, trailing bytes or a message that fails validate() all come back as an error.
decoded<client_message> decode_client(std::string_view body);
decoded<server_message> decode_server(std::string_view body);
decoded<p2p_message> decode_p2p(std::string_view body);

// Per-message validation beyond the size bounds (name syntax, UTF-8, enum ranges).
// Nothing when the message is valid, else the problem: a reason for the log, naming the field.
using problem = std::string;
std::optional<problem> validate(const client_message& message);
std::optional<problem> validate(const server_message& message);
std::optional<problem> validate(const p2p_message& message);

}  // namespace parley::proto
