#include "bench/options.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace parley::bench;

namespace {
std::variant<options, int> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "parley-bench");
  return parse_options(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("options: defaults per workload") {
  auto direct = parse({"--workload", "direct", "--port", "5000"});
  REQUIRE(std::holds_alternative<options>(direct));
  const auto& d = std::get<options>(direct);
  CHECK(d.users == 1000);
  CHECK(d.inflight == 4);
  CHECK(d.payload == 64);
  CHECK(d.prefix == "b");
  CHECK(d.password == "benchpw");
  CHECK(d.host == "127.0.0.1");
  CHECK(d.proto == protocol::parley);
  CHECK(d.connect_batch == default_parley_connect_batch);
  CHECK_FALSE(d.pid);

  auto idle = parse({"--workload", "idle", "--port", "5000", "--proto", "irc", "--pid", "77"});
  REQUIRE(std::holds_alternative<options>(idle));
  CHECK(std::get<options>(idle).users == 10000);
  CHECK(std::get<options>(idle).pid == 77);
  CHECK(std::get<options>(idle).connect_batch == default_irc_connect_batch);

  auto latency = parse({"--workload", "latency", "--port", "5000", "--inflight", "16"});
  REQUIRE(std::holds_alternative<options>(latency));
  CHECK(std::get<options>(latency).users == 2);
  CHECK(std::get<options>(latency).inflight == 1);
}

TEST_CASE("options: --connect-batch overrides the protocol's default within 1..10000") {
  auto irc =
      parse({"--workload", "idle", "--port", "5000", "--proto", "irc", "--connect-batch", "512"});
  REQUIRE(std::holds_alternative<options>(irc));
  CHECK(std::get<options>(irc).connect_batch == 512);

  auto parley = parse({"--workload", "direct", "--port", "5000", "--connect-batch", "1"});
  REQUIRE(std::holds_alternative<options>(parley));
  CHECK(std::get<options>(parley).connect_batch == 1);

  auto largest = parse({"--workload", "idle", "--port", "5000", "--connect-batch", "10000"});
  REQUIRE(std::holds_alternative<options>(largest));
  CHECK(std::get<options>(largest).connect_batch == max_connect_batch);

  // Given before --proto, it still wins over the IRC default.
  auto order =
      parse({"--connect-batch", "64", "--workload", "direct", "--port", "5000", "--proto", "irc"});
  REQUIRE(std::holds_alternative<options>(order));
  CHECK(std::get<options>(order).connect_batch == 64);
}

TEST_CASE("options: bad arguments exit with 2") {
  const std::vector<std::vector<const char*>> bad{
      {"--port", "5000"},                                             // no workload
      {"--workload", "direct"},                                       // no port
      {"--workload", "sideways", "--port", "5000"},                   // unknown workload
      {"--workload", "direct", "--port", "5000", "--users", "3"},     // odd: no pairs
      {"--workload", "direct", "--port", "5000", "--payload", "10"},  // no room for the stamp
      {"--workload", "direct", "--port", "5000", "--proto", "irc", "--payload", "4096"},
      {"--workload", "private", "--port", "5000", "--proto", "irc"},  // Parley only
      {"--workload", "direct", "--port", "5000", "--inflight", "0"},
      {"--workload", "idle", "--port", "5000", "--connect-batch", "0"},
      {"--workload", "idle", "--port", "5000", "--connect-batch", "10001"},
      {"--workload", "idle", "--port", "5000", "--connect-batch", "-1"},
      {"--workload", "idle", "--port", "5000", "--connect-batch", "many"},
      {"--workload", "idle", "--port", "5000", "--connect-batch"},
      {"--workload", "direct", "--port", "5000", "--prefix", "has space"},
      {"--workload", "direct", "--port", "5000", "--surprise"},
  };
  for (const auto& args : bad) {
    const auto parsed = parse(args);
    REQUIRE(std::holds_alternative<int>(parsed));
    CHECK(std::get<int>(parsed) == exit_bad_arguments);
  }
}
