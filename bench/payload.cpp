#include "bench/payload.hpp"

#include <algorithm>

namespace parley::bench {

namespace {

constexpr std::size_t sender_digits = 8;
constexpr std::size_t sequence_digits = 16;
constexpr std::size_t time_digits = 16;
static_assert(sender_digits + sequence_digits + time_digits == payload_stamp_bytes);
constexpr char padding = '.';
constexpr char hex_digits[] = "0123456789abcdef";

void put_hex(char* out, std::uint64_t value, std::size_t digits) {
  for (std::size_t i = digits; i-- > 0; value >>= 4) out[i] = hex_digits[value & 0xf];
}

std::optional<std::uint64_t> get_hex(std::string_view digits) {
  std::uint64_t value = 0;
  for (char c : digits) {
    std::uint64_t nibble = 0;
    if (c >= '0' && c <= '9') {
      nibble = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      nibble = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    value = (value << 4) | nibble;
  }
  return value;
}

}  // namespace

void write_stamp(std::string& text, const stamp& s) {
  char* out = text.data();
  put_hex(out, s.sender, sender_digits);
  put_hex(out + sender_digits, s.sequence, sequence_digits);
  put_hex(out + sender_digits + sequence_digits, s.sent_ns, time_digits);
}

std::string make_payload_buffer(std::size_t bytes) {
  return std::string(std::max(bytes, payload_stamp_bytes), padding);
}

std::optional<stamp> read_stamp(std::string_view text) {
  if (text.size() < payload_stamp_bytes) return std::nullopt;
  const auto sender = get_hex(text.substr(0, sender_digits));
  const auto sequence = get_hex(text.substr(sender_digits, sequence_digits));
  const auto sent = get_hex(text.substr(sender_digits + sequence_digits, time_digits));
  if (!sender || !sequence || !sent) return std::nullopt;
  return stamp{static_cast<std::uint32_t>(*sender), *sequence, *sent};
}

}  // namespace parley::bench
