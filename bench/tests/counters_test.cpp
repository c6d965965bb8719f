// The latency histogram, the payload stamp and the /proc parsers.
#include "bench/latency_histogram.hpp"
#include "bench/payload.hpp"
#include "bench/proc_stats.hpp"

#include <doctest/doctest.h>

using namespace parley::bench;

TEST_CASE("histogram: small values are exact, large ones within one sub-bucket") {
  for (std::uint64_t v :
       {0ull, 1ull, 63ull, 64ull, 127ull, 128ull, 1000ull, 123456ull, 1ull << 31}) {
    const auto bucket = latency_histogram::bucket_of(v);
    const auto edge = latency_histogram::upper_edge(bucket);
    CHECK(edge >= v);
    CHECK(static_cast<double>(edge - v) <= static_cast<double>(v) / 64.0 + 1);
    if (bucket > 0) CHECK(latency_histogram::upper_edge(bucket - 1) < v);
  }
  // Past the last octave everything lands in the last bucket.
  CHECK(latency_histogram::bucket_of(UINT64_MAX) == latency_histogram::bucket_count - 1);
}

TEST_CASE("histogram: percentiles and max") {
  latency_histogram h;
  CHECK(h.percentile(0.5) == 0);
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  CHECK(h.count() == 100);
  CHECK(h.max() == 100);
  CHECK(h.percentile(0.50) == 50);
  CHECK(h.percentile(0.99) == 99);
  CHECK(h.percentile(1.0) == 100);
  latency_histogram other;
  other.record(5000);
  h.merge(other);
  CHECK(h.max() == 5000);
  CHECK(h.percentile(1.0) == 5000);
}

TEST_CASE("payload: the stamp round-trips, the padding stays, garbage is refused") {
  auto text = make_payload_buffer(64);
  CHECK(text.size() == 64);
  const stamp s{0xabcdef12u, 0x0123456789abcdefull, 42};
  write_stamp(text, s);
  CHECK(read_stamp(text) == s);
  CHECK(text.substr(payload_stamp_bytes) == std::string(64 - payload_stamp_bytes, '.'));
  CHECK_FALSE(read_stamp(text.substr(0, payload_stamp_bytes - 1)));
  text[3] = 'G';
  CHECK_FALSE(read_stamp(text));
  CHECK_FALSE(read_stamp("hello there, this is not a benchmark payload at all"));
}

TEST_CASE("proc: stat and status parsing") {
  // The command may hold spaces and parentheses; utime (14) and stime (15) count after it.
  const std::string stat =
      "1234 (reg (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200";
  CHECK(parse_stat_cpu_ticks(stat) == 300u);
  CHECK_FALSE(parse_stat_cpu_ticks("1234 (short) S 1 2"));
  CHECK_FALSE(parse_stat_cpu_ticks("no parenthesis"));
  const std::string status =
      "Name:\tregistry\nVmPeak:\t  9000 kB\nVmRSS:\t    7308 kB\nThreads: 2\n";
  CHECK(parse_status_rss_kib(status) == 7308u);
  CHECK_FALSE(parse_status_rss_kib("Name:\tkthreadd\n"));
}
