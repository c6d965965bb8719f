// The property every decoder fuzz target checks: any byte string fed as a frame body comes back as
// a message or an error (never a crash, a sanitizer report or a large allocation), and whatever
// decodes encodes again to the same message.
#pragma once

#include "shared/proto/codec.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace parley::fuzz {

// The endianness flag our encoder writes; a body with this flag has exactly one encoding.
inline constexpr unsigned char little_endian_flag = 1;

inline void require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: property broken: %s\n", what);
  std::abort();
}

// A decoded message is valid, so encoding it must not throw, and it must decode back to itself.
// A body written little-endian (our encoder's flag) is canonical, so it must come back byte for
// byte; a big-endian one only has to mean the same message.
template <class Message, class Decode>
void check_round_trip(const proto::decoded<Message>& result, std::string_view body, Decode decode) {
  if (!result.message) {
    require(!result.error.empty(), "a refused body comes with a reason");
    return;
  }
  require(result.error.empty(), "a decoded body has no error");
  std::string frame;
  try {
    frame = proto::encode_frame(*result.message);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: encode threw: %s\n", e.what());
    require(false, "a decoded message encodes");
  }
  const auto length =
      proto::read_frame_length(reinterpret_cast<const unsigned char*>(frame.data()));
  const std::string_view again = std::string_view(frame).substr(proto::frame_header_bytes);
  require(length == again.size(), "the frame header holds the body length");
  if (static_cast<unsigned char>(body[0]) == little_endian_flag) {
    require(again == body, "a little-endian body re-encodes byte for byte");
  } else {
    const auto redecoded = decode(again);
    require(redecoded.message.has_value(), "a re-encoded body decodes");
    require(*redecoded.message == *result.message, "a re-encoded body means the same");
  }
}

}  // namespace parley::fuzz
