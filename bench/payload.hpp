// The text of every benchmark message: a fixed-width stamp the receiver reads back, then padding
// up to the requested size. Printable ASCII only, so it is a valid Parley text and a valid IRC
// trailing parameter.
//
//   ssssssssqqqqqqqqqqqqqqqqtttttttttttttttt.......
//   sender   sequence        send time (steady_clock ns)   padding
//   8 hex    16 hex          16 hex
#pragma once

#include "bench/options.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

struct stamp {
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  std::uint64_t sent_ns = 0;
  bool operator==(const stamp&) const = default;
};

// Fills `text` (already sized to the payload, at least payload_stamp_bytes) with the stamp; the
// padding after it is written once, by make_payload_buffer, and left alone.
void write_stamp(std::string& text, const stamp& s);

// A buffer of `bytes` bytes: room for the stamp, then padding.
std::string make_payload_buffer(std::size_t bytes);

// The stamp at the start of a received text, or nothing if the text is not a benchmark payload.
std::optional<stamp> read_stamp(std::string_view text);

}  // namespace parley::bench
