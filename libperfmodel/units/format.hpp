#pragma once
// Quantity -> text with a sensible prefix: "3.35 TB/s", "989 TFLOP/s", "80 GiB", "1.2 kW".

#include <ostream>
#include <string>

#include <libperfmodel/units/any_quantity.hpp>

namespace perfmodel::units {

enum class PrefixSystem {
  automatic,  ///< SI, except byte sizes that are an exact binary multiple (80 GiB)
  si,         ///< powers of 1000
  iec,        ///< powers of 1024 (byte sizes only; other dimensions fall back to SI)
};

struct FormatOptions {
  int significant = 3;                          ///< significant digits, 1..15
  PrefixSystem prefixes = PrefixSystem::automatic;
  bool bits = false;                            ///< show B and B/s as bits (400 Gb/s)
};

/// Format a value given in SI base units of dimension `d`. Non-finite values format as "nan"/"inf".
std::string format(double si_value, Dim d, FormatOptions options = {});

inline std::string format(const AnyQuantity& q, FormatOptions options = {}) {
  return format(q.value, q.dim, options);
}

template <Dim D>
std::string format(Quantity<D> q, FormatOptions options = {}) {
  return format(q.value(), D, options);
}

template <Dim D>
std::ostream& operator<<(std::ostream& os, Quantity<D> q) {
  return os << format(q);
}

inline std::ostream& operator<<(std::ostream& os, const AnyQuantity& q) { return os << format(q); }

}  // namespace perfmodel::units
