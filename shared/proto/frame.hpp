// Framing: [u32 big-endian body length][body]. The length is checked against the bound before
// the body is read or any buffer for it is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace parley::proto {

inline constexpr std::size_t frame_header_bytes = 4;

// A complete encoded frame (header and body), shared by every session that sends it.
using frame_ptr = std::shared_ptr<const std::string>;

inline std::uint32_t read_frame_length(const unsigned char* header) {
  return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
         (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
}

inline void write_frame_length(char* header, std::uint32_t length) {
  header[0] = static_cast<char>((length >> 24) & 0xff);
  header[1] = static_cast<char>((length >> 16) & 0xff);
  header[2] = static_cast<char>((length >> 8) & 0xff);
  header[3] = static_cast<char>(length & 0xff);
}

}  // namespace parley::proto
