// Latencies in microseconds, in fixed log-linear buckets: recording is an increment, never an
// allocation, and a percentile is within 1/sub_buckets (about 1.6 %) of the exact value.
#pragma once

#include <array>
#include <cstdint>

namespace parley::bench {

class latency_histogram {
 public:
  // Every power of two is split into this many equal buckets; values below it are exact.
  static constexpr std::uint64_t sub_buckets = 64;
  // Powers of two above sub_buckets covered: up to 64 << 26 us, about 71 minutes; larger values
  // land in the last bucket (and max_ keeps the exact one).
  static constexpr std::uint64_t octaves = 26;
  static constexpr std::size_t bucket_count = sub_buckets * (octaves + 1);

  void record(std::uint64_t micros);
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The value at or below which `fraction` (0..1) of the samples lie; 0 when there are none.
  // Reports the upper edge of the bucket, capped at the largest sample.
  std::uint64_t percentile(double fraction) const;

  // Exposed for the tests: the bucket a value falls in and that bucket's largest value.
  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t upper_edge(std::size_t bucket);

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace parley::bench
