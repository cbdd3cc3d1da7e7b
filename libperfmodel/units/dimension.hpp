#pragma once
// Physical dimensions as exponent vectors over the base quantities perfmodel needs.
// Base units: FLOP (one arithmetic operation), B (byte), s (second), J (joule), USD (money).
// Watts are J/s and hertz are 1/s, so power and frequency need no base of their own.

#include <compare>

namespace perfmodel::units {

/// Exponents of each base quantity; a structural type usable as a template argument.
struct Dim {
  int flop = 0;
  int byte = 0;
  int time = 0;
  int energy = 0;
  int money = 0;

  friend constexpr bool operator==(const Dim&, const Dim&) = default;
};

constexpr Dim operator*(Dim a, Dim b) {
  return {a.flop + b.flop, a.byte + b.byte, a.time + b.time, a.energy + b.energy,
          a.money + b.money};
}
constexpr Dim operator/(Dim a, Dim b) {
  return {a.flop - b.flop, a.byte - b.byte, a.time - b.time, a.energy - b.energy,
          a.money - b.money};
}

namespace dim {
inline constexpr Dim none{};
inline constexpr Dim flop{1, 0, 0, 0, 0};
inline constexpr Dim byte{0, 1, 0, 0, 0};
inline constexpr Dim time{0, 0, 1, 0, 0};
inline constexpr Dim energy{0, 0, 0, 1, 0};
inline constexpr Dim money{0, 0, 0, 0, 1};
inline constexpr Dim frequency = none / time;
inline constexpr Dim flop_rate = flop / time;
inline constexpr Dim bandwidth = byte / time;
inline constexpr Dim power = energy / time;
inline constexpr Dim intensity = flop / byte;
}  // namespace dim

}  // namespace perfmodel::units
