#include "bench/wire.hpp"

#include "shared/proto/body_reader.hpp"
#include "shared/proto/frame.hpp"

namespace parley::bench::wire {

namespace {

// cereal's portable binary archive: a flag byte (1: little-endian), the variant index as an i32,
// then the fields; a string is a u64 size tag and its bytes.
constexpr char little_endian_flag = 1;
constexpr std::size_t tag_bytes = 4;
constexpr std::size_t size_tag_bytes = 8;
constexpr std::size_t body_prefix_bytes = 1 + tag_bytes;

void put_le(std::string& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i, value >>= 8)
    out.push_back(static_cast<char>(value & 0xff));
}

void put_string(std::string& out, std::string_view s) {
  put_le(out, s.size(), size_tag_bytes);
  out.append(s);
}

// Appends the header and body prefix; returns where the header starts, to patch in the length.
std::size_t begin_frame(std::string& out, std::int32_t tag) {
  const std::size_t start = out.size();
  out.append(proto::frame_header_bytes, '\0');
  out.push_back(little_endian_flag);
  put_le(out, static_cast<std::uint32_t>(tag), tag_bytes);
  return start;
}

void end_frame(std::string& out, std::size_t start) {
  const std::size_t body = out.size() - start - proto::frame_header_bytes;
  proto::write_frame_length(out.data() + start, static_cast<std::uint32_t>(body));
}

}  // namespace

void append_direct_message(std::string& out, std::string_view to, std::string_view text) {
  const auto start = begin_frame(out, direct_message_tag);
  put_string(out, to);
  put_string(out, text);
  end_frame(out, start);
}

void append_broadcast_message(std::string& out, std::string_view text) {
  const auto start = begin_frame(out, broadcast_message_tag);
  put_string(out, text);
  end_frame(out, start);
}

void append_p2p_text(std::string& out, std::string_view text) {
  const auto start = begin_frame(out, p2p_text_tag);
  put_string(out, text);
  end_frame(out, start);
}

std::optional<std::int32_t> peek_tag(std::string_view body) {
  if (body.size() < body_prefix_bytes || body[0] != little_endian_flag) return std::nullopt;
  proto::body_reader r(body.substr(1));
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(*r.le(tag_bytes)));
}

std::optional<delivery_view> peek_delivery(std::string_view body) {
  proto::body_reader r(body);
  if (!r.expect_prefix(static_cast<std::uint32_t>(delivery_tag))) return std::nullopt;
  const auto from = r.string(proto::max_name_bytes);
  const auto text = r.string(proto::max_text_bytes);
  const auto kind = r.le(1);
  if (!from || !text || !kind || !r.at_end()) return std::nullopt;
  if (*kind > static_cast<std::uint8_t>(proto::delivery_kind::last)) return std::nullopt;
  return delivery_view{*from, *text, static_cast<proto::delivery_kind>(*kind)};
}

std::optional<command_reply_view> peek_command_reply(std::string_view body) {
  proto::body_reader r(body);
  if (!r.expect_prefix(static_cast<std::uint32_t>(command_reply_tag))) return std::nullopt;
  const auto result = r.le(1);
  const auto subject = r.string(proto::max_name_bytes);
  if (!result || !subject || !r.at_end()) return std::nullopt;
  if (*result > static_cast<std::uint8_t>(proto::outcome::last)) return std::nullopt;
  return command_reply_view{static_cast<proto::outcome>(*result), *subject};
}

std::optional<std::string_view> peek_p2p_text(std::string_view body) {
  proto::body_reader r(body);
  if (!r.expect_prefix(static_cast<std::uint32_t>(p2p_text_tag))) return std::nullopt;
  const auto text = r.string(proto::max_text_bytes);
  if (!text || !r.at_end()) return std::nullopt;
  return *text;
}

}  // namespace parley::bench::wire
