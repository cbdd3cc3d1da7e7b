#pragma once
// AnyQuantity: a value whose dimension is known only at run time (parsed text, Python).
// Converting to a typed Quantity checks the dimension and throws UnitMismatch otherwise.

#include <string>
#include <string_view>

#include <libperfmodel/error.hpp>
#include <libperfmodel/units/dimension.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::units {

/// Canonical symbol of a dimension: "B/s", "FLOP/s", "W", "Hz", "FLOP/B", "1" (dimensionless).
std::string dimension_symbol(Dim d);
/// Human name of a dimension where one exists ("bandwidth", "power"), else its symbol.
std::string dimension_name(Dim d);

struct AnyQuantity {
  double value = 0.0;  ///< in SI base units
  Dim dim{};

  /// Typed view; throws UnitMismatch naming `what` and both dimensions if D differs.
  template <Dim D>
  [[nodiscard]] Quantity<D> as(std::string_view what = "value") const {
    if (dim != D) {
      throw UnitMismatch(std::string(what) + " has dimension " + dimension_symbol(dim) + " (" +
                         dimension_name(dim) + "), expected " + dimension_symbol(D) + " (" +
                         dimension_name(D) + ")");
    }
    return Quantity<D>{value};
  }

  friend bool operator==(const AnyQuantity&, const AnyQuantity&) = default;
};

template <Dim D>
AnyQuantity any(Quantity<D> q) {
  return AnyQuantity{q.value(), D};
}

// Run-time arithmetic with the same rules as the typed algebra.
AnyQuantity operator+(const AnyQuantity& a, const AnyQuantity& b);  // throws UnitMismatch
AnyQuantity operator-(const AnyQuantity& a, const AnyQuantity& b);  // throws UnitMismatch
AnyQuantity operator*(const AnyQuantity& a, const AnyQuantity& b);
AnyQuantity operator/(const AnyQuantity& a, const AnyQuantity& b);

}  // namespace perfmodel::units
