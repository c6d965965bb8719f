// Bounded wire types: every size tag is checked against the type's bound before anything is
// allocated. cereal's own std::string / std::vector loaders resize() to whatever length the input
// claims, so inbound messages use only these wrappers.
#pragma once

#include <cereal/cereal.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::proto {

// Thrown while decoding; the codec catches it (and every other exception) at its boundary.
struct decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <std::size_t Max>
struct bounded_string {
  static constexpr std::size_t max_size = Max;
  std::string value;

  bounded_string() = default;
  bounded_string(std::string v) : value(std::move(v)) {}
  bounded_string(std::string_view v) : value(v) {}
  bounded_string(const char* v) : value(v) {}

  bool fits() const { return value.size() <= Max; }
  bool operator==(const bounded_string&) const = default;

  template <class Archive>
  void save(Archive& ar) const {
    if (!fits()) throw decode_error("string longer than its bound");
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(value.size())));
    ar(cereal::binary_data(value.data(), value.size()));
  }

  template <class Archive>
  void load(Archive& ar) {
    cereal::size_type size = 0;
    ar(cereal::make_size_tag(size));
    if (size > Max) throw decode_error("string longer than its bound");
    value.resize(static_cast<std::size_t>(size));
    ar(cereal::binary_data(value.data(), value.size()));
  }
};

template <class T, std::size_t Max>
struct bounded_vector {
  static constexpr std::size_t max_size = Max;
  std::vector<T> items;

  bool fits() const { return items.size() <= Max; }
  bool operator==(const bounded_vector&) const = default;

  template <class Archive>
  void save(Archive& ar) const {
    if (!fits()) throw decode_error("list longer than its bound");
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(items.size())));
    for (const auto& item : items) ar(item);
  }

  template <class Archive>
  void load(Archive& ar) {
    cereal::size_type size = 0;
    ar(cereal::make_size_tag(size));
    if (size > Max) throw decode_error("list longer than its bound");
    items.resize(static_cast<std::size_t>(size));
    for (auto& item : items) ar(item);
  }
};

}  // namespace parley::proto
