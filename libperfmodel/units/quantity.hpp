#pragma once
// Quantity<D>: a double in SI base units tagged at compile time with its dimension D.
// Arithmetic is only defined where it makes physical sense; the result type carries the
// combined dimension (Flops / FlopRate -> Seconds, Bytes / Seconds -> Bandwidth, ...).

#include <compare>

#include <libperfmodel/units/dimension.hpp>

namespace perfmodel::units {

template <Dim D>
class Quantity {
 public:
  static constexpr Dim dimension = D;

  constexpr Quantity() = default;
  /// Construct from a value in SI base units (FLOP, B, s, J, USD and their quotients).
  constexpr explicit Quantity(double si_value) : value_(si_value) {}

  /// The value in SI base units.
  [[nodiscard]] constexpr double value() const { return value_; }

  constexpr Quantity& operator+=(Quantity o) {
    value_ += o.value_;
    return *this;
  }
  constexpr Quantity& operator-=(Quantity o) {
    value_ -= o.value_;
    return *this;
  }
  constexpr Quantity& operator*=(double k) {
    value_ *= k;
    return *this;
  }
  constexpr Quantity& operator/=(double k) {
    value_ /= k;
    return *this;
  }

  friend constexpr Quantity operator+(Quantity a, Quantity b) { return Quantity{a.value_ + b.value_}; }
  friend constexpr Quantity operator-(Quantity a, Quantity b) { return Quantity{a.value_ - b.value_}; }
  friend constexpr Quantity operator-(Quantity a) { return Quantity{-a.value_}; }
  friend constexpr Quantity operator*(Quantity a, double k) { return Quantity{a.value_ * k}; }
  friend constexpr Quantity operator*(double k, Quantity a) { return Quantity{k * a.value_}; }
  friend constexpr Quantity operator/(Quantity a, double k) { return Quantity{a.value_ / k}; }
  friend constexpr bool operator==(Quantity a, Quantity b) { return a.value_ == b.value_; }
  friend constexpr auto operator<=>(Quantity a, Quantity b) { return a.value_ <=> b.value_; }

 private:
  double value_ = 0.0;
};

template <Dim A, Dim B>
constexpr Quantity<A * B> operator*(Quantity<A> a, Quantity<B> b) {
  return Quantity<A * B>{a.value() * b.value()};
}
template <Dim A, Dim B>
constexpr Quantity<A / B> operator/(Quantity<A> a, Quantity<B> b) {
  return Quantity<A / B>{a.value() / b.value()};
}
template <Dim A>
constexpr Quantity<dim::none / A> operator/(double k, Quantity<A> a) {
  return Quantity<dim::none / A>{k / a.value()};
}

// The vocabulary used across perfmodel's public signatures.
using Ratio = Quantity<dim::none>;                     ///< dimensionless (fractions, efficiencies)
using Flops = Quantity<dim::flop>;                     ///< operation count [FLOP]
using FlopRate = Quantity<dim::flop_rate>;             ///< throughput [FLOP/s]
using Bytes = Quantity<dim::byte>;                     ///< data size [B]
using Bandwidth = Quantity<dim::bandwidth>;            ///< data rate [B/s]
using Seconds = Quantity<dim::time>;                   ///< time [s]
using Hertz = Quantity<dim::frequency>;                ///< frequency [1/s]
using Watts = Quantity<dim::power>;                    ///< power [J/s]
using Joules = Quantity<dim::energy>;                  ///< energy [J]
using Dollars = Quantity<dim::money>;                  ///< money [USD]
using ArithmeticIntensity = Quantity<dim::intensity>;  ///< [FLOP/B]

/// Unit constants: multiply a number by one of these (`3.35e12 * unit::byte / unit::second`);
/// or use the literals below (`80_GiB`, `1.5_ms`).
namespace unit {
inline constexpr Flops flop{1.0};
inline constexpr Bytes byte{1.0};
inline constexpr Bytes bit{0.125};
inline constexpr Seconds second{1.0};
inline constexpr Joules joule{1.0};
inline constexpr Watts watt{1.0};
inline constexpr Hertz hertz{1.0};
inline constexpr Dollars usd{1.0};
}  // namespace unit

inline namespace literals {
// Decimal (SI) prefixes are powers of 1000, binary (IEC) ones powers of 1024; never mixed.
constexpr Bytes operator""_B(long double v) { return Bytes{static_cast<double>(v)}; }
constexpr Bytes operator""_B(unsigned long long v) { return Bytes{static_cast<double>(v)}; }
constexpr Bytes operator""_kB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1e3}; }
constexpr Bytes operator""_MB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1e6}; }
constexpr Bytes operator""_GB(long double v) { return Bytes{static_cast<double>(v) * 1e9}; }
constexpr Bytes operator""_GB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1e9}; }
constexpr Bytes operator""_TB(long double v) { return Bytes{static_cast<double>(v) * 1e12}; }
constexpr Bytes operator""_KiB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1024.0}; }
constexpr Bytes operator""_MiB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1048576.0}; }
constexpr Bytes operator""_GiB(unsigned long long v) { return Bytes{static_cast<double>(v) * 1073741824.0}; }
constexpr Seconds operator""_s(long double v) { return Seconds{static_cast<double>(v)}; }
constexpr Seconds operator""_s(unsigned long long v) { return Seconds{static_cast<double>(v)}; }
constexpr Seconds operator""_ms(long double v) { return Seconds{static_cast<double>(v) * 1e-3}; }
constexpr Seconds operator""_ms(unsigned long long v) { return Seconds{static_cast<double>(v) * 1e-3}; }
constexpr Seconds operator""_us(unsigned long long v) { return Seconds{static_cast<double>(v) * 1e-6}; }
constexpr Seconds operator""_ns(unsigned long long v) { return Seconds{static_cast<double>(v) * 1e-9}; }
constexpr Watts operator""_W(long double v) { return Watts{static_cast<double>(v)}; }
constexpr Watts operator""_W(unsigned long long v) { return Watts{static_cast<double>(v)}; }
constexpr Watts operator""_kW(long double v) { return Watts{static_cast<double>(v) * 1e3}; }
constexpr Watts operator""_kW(unsigned long long v) { return Watts{static_cast<double>(v) * 1e3}; }
constexpr Joules operator""_J(unsigned long long v) { return Joules{static_cast<double>(v)}; }
constexpr Hertz operator""_GHz(long double v) { return Hertz{static_cast<double>(v) * 1e9}; }
constexpr Flops operator""_FLOP(unsigned long long v) { return Flops{static_cast<double>(v)}; }
constexpr FlopRate operator""_TFLOPs(long double v) { return FlopRate{static_cast<double>(v) * 1e12}; }
constexpr FlopRate operator""_TFLOPs(unsigned long long v) { return FlopRate{static_cast<double>(v) * 1e12}; }
constexpr Bandwidth operator""_GBps(long double v) { return Bandwidth{static_cast<double>(v) * 1e9}; }
constexpr Bandwidth operator""_GBps(unsigned long long v) { return Bandwidth{static_cast<double>(v) * 1e9}; }
constexpr Bandwidth operator""_TBps(long double v) { return Bandwidth{static_cast<double>(v) * 1e12}; }
constexpr Bandwidth operator""_TBps(unsigned long long v) { return Bandwidth{static_cast<double>(v) * 1e12}; }
constexpr Bandwidth operator""_Gbps(unsigned long long v) { return Bandwidth{static_cast<double>(v) * 1e9 / 8.0}; }
}  // namespace literals

}  // namespace perfmodel::units

namespace perfmodel {
using units::ArithmeticIntensity;
using units::Bandwidth;
using units::Bytes;
using units::Dollars;
using units::FlopRate;
using units::Flops;
using units::Hertz;
using units::Joules;
using units::Ratio;
using units::Seconds;
using units::Watts;
}  // namespace perfmodel
