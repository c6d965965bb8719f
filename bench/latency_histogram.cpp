#include "bench/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace parley::bench {

namespace {
constexpr unsigned sub_bucket_bits = std::countr_zero(latency_histogram::sub_buckets);
}

std::size_t latency_histogram::bucket_of(std::uint64_t micros) {
  if (micros < sub_buckets) return static_cast<std::size_t>(micros);
  // Octave k >= 1 holds [sub_buckets << (k-1), sub_buckets << k), in sub_buckets equal steps.
  const unsigned octave = static_cast<unsigned>(std::bit_width(micros)) - sub_bucket_bits;
  if (octave > octaves) return bucket_count - 1;
  const std::uint64_t step_bits = octave - 1;
  const std::uint64_t offset = (micros >> step_bits) - sub_buckets;
  return static_cast<std::size_t>(octave * sub_buckets + offset);
}

std::uint64_t latency_histogram::upper_edge(std::size_t bucket) {
  if (bucket < sub_buckets) return bucket;
  const std::uint64_t octave = bucket / sub_buckets;
  const std::uint64_t offset = bucket % sub_buckets;
  const std::uint64_t step_bits = octave - 1;
  return ((sub_buckets + offset + 1) << step_bits) - 1;
}

void latency_histogram::record(std::uint64_t micros) {
  ++counts_[bucket_of(micros)];
  ++count_;
  max_ = std::max(max_, micros);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  // The rank of the wanted sample, 1-based: p50 of 10 samples is the 5th.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(upper_edge(i), max_);
  }
  return max_;
}

}  // namespace parley::bench
