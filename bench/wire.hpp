// The few Parley frames on the benchmark's hot path, encoded into and read from the caller's
// buffers without a heap allocation per message. Byte for byte what shared/proto/codec.cpp writes
// (bench/tests/wire_test.cpp checks it against the codec); everything else goes through the codec.
#pragma once

#include "shared/proto/frame.hpp"
#include "shared/proto/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace parley::bench::wire {

// A message's wire tag is its index in its variant.
template <class Variant, class T, std::size_t I = 0>
constexpr std::int32_t tag_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Variant>, T>) {
    return static_cast<std::int32_t>(I);
  } else {
    return tag_of<Variant, T, I + 1>();
  }
}

inline constexpr std::int32_t direct_message_tag =
    tag_of<proto::client_message, proto::direct_message>();
inline constexpr std::int32_t broadcast_message_tag =
    tag_of<proto::client_message, proto::broadcast_message>();
inline constexpr std::int32_t delivery_tag = tag_of<proto::server_message, proto::delivery>();
inline constexpr std::int32_t presence_tag = tag_of<proto::server_message, proto::presence>();
inline constexpr std::int32_t presence_batch_tag =
    tag_of<proto::server_message, proto::presence_batch>();
inline constexpr std::int32_t command_reply_tag =
    tag_of<proto::server_message, proto::command_reply>();
inline constexpr std::int32_t p2p_text_tag = tag_of<proto::p2p_message, proto::p2p_text>();

// Append one whole frame (header and body) to `out`. The caller keeps within the bounds (a valid
// name, a text of 1..max_text_bytes); bench never sends anything else on these paths.
void append_direct_message(std::string& out, std::string_view to, std::string_view text);
void append_broadcast_message(std::string& out, std::string_view text);
void append_p2p_text(std::string& out, std::string_view text);

// The tag of a body our encoder's byte order (little-endian) wrote; nothing for anything else,
// which the caller then hands to the full decoder.
std::optional<std::int32_t> peek_tag(std::string_view body);

struct delivery_view {
  std::string_view from;
  std::string_view text;
  proto::delivery_kind kind = proto::delivery_kind::direct;
};
struct command_reply_view {
  proto::outcome result = proto::outcome::message_delivered;
  std::string_view subject;
};

// Views into `body`, valid as long as it is. Every size tag is checked against its bound and the
// body's end, and trailing bytes are refused; nothing for a body that is not exactly that message.
std::optional<delivery_view> peek_delivery(std::string_view body);
std::optional<command_reply_view> peek_command_reply(std::string_view body);
std::optional<std::string_view> peek_p2p_text(std::string_view body);

// Hands each complete frame body at the front of `data` to `on_frame` (which returns false to
// stop) and returns how many bytes were used. A header over the frame bound stops the split
// before its body is waited for, and `oversized` tells which length it announced.
template <class OnFrame>
std::size_t split_frames(std::string_view data, OnFrame&& on_frame,
                         std::optional<std::uint32_t>& oversized) {
  std::size_t consumed = 0;
  while (data.size() - consumed >= proto::frame_header_bytes) {
    const auto length =
        proto::read_frame_length(reinterpret_cast<const unsigned char*>(data.data() + consumed));
    if (length > proto::max_frame_body) {
      oversized = length;
      break;
    }
    if (data.size() - consumed - proto::frame_header_bytes < length) break;
    const bool go_on = on_frame(data.substr(consumed + proto::frame_header_bytes, length));
    if (!go_on) break;
    consumed += proto::frame_header_bytes + length;
  }
  return consumed;
}

}  // namespace parley::bench::wire
