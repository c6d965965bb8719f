// Reads a little-endian cereal portable-binary body front to back, without cereal: for the few
// hot messages read in place (the registry's decode_client fast path, parley-bench's peeks).
// Every read is bounds-checked; the first one that fails returns nullopt, and the caller gives
// up on the body (the general decoder then judges it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace parley::proto {

class body_reader {
 public:
  explicit body_reader(std::string_view body) : rest_(body) {}

  // An unsigned little-endian integer of `bytes` bytes (at most 8).
  std::optional<std::uint64_t> le(std::size_t bytes) {
    if (rest_.size() < bytes) return std::nullopt;
    std::uint64_t value = 0;
    for (std::size_t i = bytes; i-- > 0;)
      value = (value << 8) | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(bytes);
    return value;
  }

  // The archive's prefix: the little-endian flag (1), then the variant index as an i32; true
  // when both are there and the index is `index`.
  bool expect_prefix(std::uint32_t index) {
    const auto flag = le(1);
    const auto got = le(sizeof(std::int32_t));
    return flag && *flag == 1 && got && *got == index;
  }

  // A u64 size tag within `bound`, and that many bytes.
  std::optional<std::string_view> string(std::size_t bound) {
    const auto size = le(sizeof(std::uint64_t));
    if (!size || *size > bound || *size > rest_.size()) return std::nullopt;
    const auto text = rest_.substr(0, static_cast<std::size_t>(*size));
    rest_.remove_prefix(text.size());
    return text;
  }

  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace parley::proto
