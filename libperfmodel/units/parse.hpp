#pragma once
// Text -> quantity. Accepts "<number> <unit>" with SI prefixes (k M G T P E; m u/µ n p for
// s, W, J), IEC prefixes (Ki ... Ei) for bytes and bits only, "b" = bit, "B" = byte,
// "TFLOPS"/"TOPS" = per second, "/s" rates, "%" for ratios. Examples: "3.35 TB/s",
// "989.4 TFLOP/s", "80 GiB", "400 Gb/s", "1.2 kW", "2 us". "K" and "KB" are rejected as
// ambiguous. NaN, inf, empty text and (unless allowed) negative numbers are rejected.

#include <string>
#include <string_view>

#include <libperfmodel/units/any_quantity.hpp>

namespace perfmodel::units {

struct ParseOptions {
  bool allow_negative = false;
};

/// Scale (to SI base units) and dimension of a unit expression such as "GB/s" or "pJ/B".
struct UnitInfo {
  double scale = 1.0;
  Dim dim{};
};

/// Parse a unit expression alone ("TB/s", "GiB", "" = dimensionless); throws InvalidArgument.
UnitInfo parse_unit(std::string_view unit);

/// `text` in double quotes, for messages. Out of line: GCC 12 at -O3 flags the inlined
/// `"\"" + std::string(text)` with a false -Wrestrict, which would break -Werror consumers.
std::string quoted(std::string_view text);

/// Parse "<number> <unit>"; throws InvalidArgument naming the text on any problem.
[[nodiscard]] AnyQuantity parse(std::string_view text, ParseOptions options = {});

/// Parse and check the dimension; throws UnitMismatch naming the text and the expected dimension.
template <Dim D>
[[nodiscard]] Quantity<D> parse_as(std::string_view text, ParseOptions options = {}) {
  AnyQuantity q = parse(text, options);
  return q.as<D>(quoted(text));
}

}  // namespace perfmodel::units
