// libFuzzer target for the private-chat link's decoder: the first frame a listening peer reads
// comes from anyone who can reach its port, before any token is checked, so decode_p2p must turn
// any byte string into a message or an error and keep the round-trip property of round_trip.hpp.
#include "shared/proto/codec.hpp"
#include "tests/fuzz/round_trip.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proto = parley::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  parley::fuzz::check_round_trip(proto::decode_p2p(body), body,
                                 [](std::string_view b) { return proto::decode_p2p(b); });
  return 0;
}
