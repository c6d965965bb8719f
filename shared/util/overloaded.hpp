#pragma once

namespace parley {

// Builds one visitor from several lambdas, for std::visit over the message variants.
template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace parley
