// libFuzzer target for the registry link's codec: any byte string, fed as a frame body to both
// decoders (peer -> registry and registry -> peer), keeps the round-trip property of
// round_trip.hpp.
#include "shared/proto/codec.hpp"
#include "tests/fuzz/round_trip.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proto = parley::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  parley::fuzz::check_round_trip(proto::decode_client(body), body,
                                 [](std::string_view b) { return proto::decode_client(b); });
  parley::fuzz::check_round_trip(proto::decode_server(body), body,
                                 [](std::string_view b) { return proto::decode_server(b); });
  return 0;
}
