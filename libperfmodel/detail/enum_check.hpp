#pragma once
// Out-of-range enum values (an integer cast to the enum) must not index past name or data
// tables: names read "invalid" and estimates refuse them with a message naming the field.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <libperfmodel/error.hpp>

namespace perfmodel::detail {

/// names[e], or "invalid" for a value outside the table (negative values wrap to huge indices).
template <class E, std::size_t N>
constexpr std::string_view enum_name(E e, const std::array<std::string_view, N>& names) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : std::string_view("invalid");
}

/// Throws InvalidArgument "<field>: not a <type> value (<n>)" unless `first <= e <= last`.
template <class E>
void check_enum(E e, E first, E last, const char* field, const char* type) {
  const auto v = static_cast<long long>(e);
  if (v < static_cast<long long>(first) || v > static_cast<long long>(last)) {
    throw InvalidArgument(std::string(field) + ": not a " + type + " value (" + std::to_string(v) + ")");
  }
}

}  // namespace perfmodel::detail
