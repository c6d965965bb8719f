// libFuzzer target for the registry core's state machine: the input is a script of steps
// (connections, messages built from its bytes or decoded from them by the real decoder, hash
// jobs answered, disconnects, time passing, ticks), run by core_driver.hpp against the real core
// on a ":memory:" SQLite store, with the shell's invariants checked after every step.
#include "tests/fuzz/core_driver.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
// Enough for a few sessions to log in, talk, time out and come back; bounds the time per input.
constexpr int max_steps = 2048;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  parley::fuzz::byte_reader in(std::string_view(reinterpret_cast<const char*>(data), size));
  parley::fuzz::core_driver driver;
  for (int step = 0; step < max_steps && !in.done(); ++step) driver.step(in);
  driver.finish();
  return 0;
}
