// Unit parsing and formatting.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <libperfmodel/error.hpp>
#include <libperfmodel/units/any_quantity.hpp>
#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>

namespace perfmodel::units {

namespace {

struct Named {
  Dim dim;
  const char* symbol;
  const char* name;
};

// Dimensions with a conventional symbol; everything else is spelled out from the bases.
constexpr std::array<Named, 13> kNamed{{
    {dim::none, "1", "dimensionless ratio"},
    {dim::flop, "FLOP", "operation count"},
    {dim::byte, "B", "data size"},
    {dim::time, "s", "time"},
    {dim::energy, "J", "energy"},
    {dim::money, "USD", "money"},
    {dim::frequency, "Hz", "frequency"},
    {dim::flop_rate, "FLOP/s", "throughput"},
    {dim::bandwidth, "B/s", "bandwidth"},
    {dim::power, "W", "power"},
    {dim::intensity, "FLOP/B", "arithmetic intensity"},
    {dim::energy / dim::flop, "J/FLOP", "energy per operation"},
    {dim::energy / dim::byte, "J/B", "energy per byte"},
}};

void append_factor(std::string& out, const char* sym, int exp) {
  if (exp == 0) return;
  if (!out.empty()) out += "*";
  out += sym;
  if (exp != 1) {  // appended piecewise: GCC 12 -O3 flags "^" + std::string with a false -Wrestrict
    out += '^';
    out += std::to_string(exp);
  }
}

}  // namespace

std::string dimension_symbol(Dim d) {
  for (const auto& n : kNamed) {
    if (n.dim == d) return n.symbol;
  }
  std::string num;
  std::string den;
  const std::array<std::pair<const char*, int>, 5> parts{
      {{"FLOP", d.flop}, {"B", d.byte}, {"J", d.energy}, {"USD", d.money}, {"s", d.time}}};
  int n_den = 0;
  for (const auto& [sym, e] : parts) {
    if (e > 0) append_factor(num, sym, e);
    if (e < 0) {
      append_factor(den, sym, -e);
      ++n_den;
    }
  }
  if (num.empty()) num.push_back('1');
  if (den.empty()) return num;
  num.push_back('/');
  if (n_den > 1) num.push_back('(');
  num += den;
  if (n_den > 1) num.push_back(')');
  return num;
}

std::string dimension_name(Dim d) {
  for (const auto& n : kNamed) {
    if (n.dim == d) return n.name;
  }
  return dimension_symbol(d);
}

AnyQuantity operator+(const AnyQuantity& a, const AnyQuantity& b) {
  if (a.dim != b.dim) {
    throw UnitMismatch("cannot add " + dimension_symbol(a.dim) + " and " + dimension_symbol(b.dim));
  }
  return {a.value + b.value, a.dim};
}
AnyQuantity operator-(const AnyQuantity& a, const AnyQuantity& b) {
  if (a.dim != b.dim) {
    throw UnitMismatch("cannot subtract " + dimension_symbol(b.dim) + " from " +
                       dimension_symbol(a.dim));
  }
  return {a.value - b.value, a.dim};
}
AnyQuantity operator*(const AnyQuantity& a, const AnyQuantity& b) {
  return {a.value * b.value, a.dim * b.dim};
}
AnyQuantity operator/(const AnyQuantity& a, const AnyQuantity& b) {
  return {a.value / b.value, a.dim / b.dim};
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

enum class PrefixKind { none, large_only, any, large_and_binary };

struct BaseUnit {
  std::string_view symbol;
  double scale;
  Dim dim;
  PrefixKind prefixes;
};

// Longest symbols first so that "bps" wins over "s" and "FLOPS" over "S".
constexpr std::array<BaseUnit, 14> kBaseUnits{{
    {"FLOPS", 1.0, dim::flop_rate, PrefixKind::large_only},
    {"FLOP", 1.0, dim::flop, PrefixKind::large_only},
    {"OPS", 1.0, dim::flop_rate, PrefixKind::large_only},
    {"USD", 1.0, dim::money, PrefixKind::none},
    {"bps", 0.125, dim::bandwidth, PrefixKind::large_only},
    {"min", 60.0, dim::time, PrefixKind::none},
    {"OP", 1.0, dim::flop, PrefixKind::large_only},
    {"Hz", 1.0, dim::frequency, PrefixKind::any},
    {"Wh", 3600.0, dim::energy, PrefixKind::large_only},
    {"B", 1.0, dim::byte, PrefixKind::large_and_binary},
    {"b", 0.125, dim::byte, PrefixKind::large_and_binary},
    {"s", 1.0, dim::time, PrefixKind::any},
    {"W", 1.0, dim::power, PrefixKind::any},
    {"J", 1.0, dim::energy, PrefixKind::any},
}};

struct Prefix {
  std::string_view symbol;
  double scale;  ///< binary prefixes (exact powers of two); 1 for SI ones
  int exp10;     ///< SI prefixes as powers of ten, applied once per unit (1 B/ns is 1e9 B/s exactly)
  bool binary;
  bool small;
};

constexpr std::array<Prefix, 18> kPrefixes{{
    {"k", 1.0, 3, false, false},   {"M", 1.0, 6, false, false},   {"G", 1.0, 9, false, false},
    {"T", 1.0, 12, false, false},  {"P", 1.0, 15, false, false},  {"E", 1.0, 18, false, false},
    {"Ki", 1024.0, 0, true, false}, {"Mi", 1048576.0, 0, true, false},
    {"Gi", 1073741824.0, 0, true, false}, {"Ti", 1099511627776.0, 0, true, false},
    {"Pi", 1125899906842624.0, 0, true, false}, {"Ei", 1152921504606846976.0, 0, true, false},
    {"m", 1.0, -3, false, true},   {"u", 1.0, -6, false, true},   {"\xC2\xB5", 1.0, -6, false, true},
    {"\xCE\xBC", 1.0, -6, false, true}, {"n", 1.0, -9, false, true},   {"p", 1.0, -12, false, true},
}};

/// One term of a unit: scale x 10^exp10 in base units.
struct Term {
  double scale = 1.0;
  int exp10 = 0;
  Dim dim{};
};

/// scale x 10^e with one rounding where the power is exact (|e| <= 22 per factor).
double times_pow10(double scale, int e) {
  static constexpr std::array<double, 23> k{1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  for (; e > 22; e -= 22) scale *= k[22];
  for (; e < -22; e += 22) scale /= k[22];
  return e >= 0 ? scale * k[static_cast<std::size_t>(e)] : scale / k[static_cast<std::size_t>(-e)];
}

[[noreturn]] void bad_unit(std::string_view unit, const std::string& why) {
  throw InvalidArgument("unknown unit \"" + std::string(unit) + "\": " + why);
}

Term parse_term(std::string_view term, std::string_view whole) {
  if (term.empty()) bad_unit(whole, "empty unit between '/'");
  if (term == "%") return {1.0, -2, dim::none};
  if (term == "h") return {3600.0, 0, dim::time};
  if (term == "$") return {1.0, 0, dim::money};
  if (term == "FLOPs" || term.ends_with("FLOPs")) {
    bad_unit(whole, "\"FLOPs\" is ambiguous; write FLOP for a count or FLOP/s for a rate");
  }
  for (const auto& base : kBaseUnits) {
    if (!term.ends_with(base.symbol)) continue;
    std::string_view pre = term.substr(0, term.size() - base.symbol.size());
    if (pre.empty()) return {base.scale, 0, base.dim};
    if (pre == "K") {
      bad_unit(whole, "prefix 'K' is ambiguous; use 'k' (10^3) or 'Ki' (2^10)");
    }
    for (const auto& p : kPrefixes) {
      if (p.symbol != pre) continue;
      bool ok = false;
      switch (base.prefixes) {
        case PrefixKind::none: ok = false; break;
        case PrefixKind::large_only: ok = !p.binary && !p.small; break;
        case PrefixKind::any: ok = !p.binary; break;
        case PrefixKind::large_and_binary: ok = !p.small; break;
      }
      if (!ok) {
        bad_unit(whole, "prefix '" + std::string(pre) + "' is not allowed on '" +
                            std::string(base.symbol) + "'" +
                            (p.binary ? " (binary prefixes are for bytes and bits only)" : ""));
      }
      return {p.scale * base.scale, p.exp10, base.dim};
    }
    // A one- or two-character head is a mistyped prefix; anything longer is another word that
    // happens to end in a unit symbol ("bytes", "watts", "GBps"): say the unit is unknown.
    if (pre.size() <= 2) {
      bad_unit(whole, "unknown prefix '" + std::string(pre) + "' on '" + std::string(base.symbol) +
                          "' (SI: k M G T P E m u n p; binary: Ki Mi Gi Ti Pi Ei)");
    }
    continue;
  }
  std::string msg(1, '\'');  // built piecewise (GCC 12 -O3 -Wrestrict false positive on "'" + std::string)
  msg += term;
  msg += "' is not a unit; known units are FLOP, FLOP/s (FLOPS), OP, OPS, B (byte), b (bit), bps, s, min, h, Hz, W, J, "
         "Wh, USD, % (with SI or binary prefixes: GB/s, GiB, us)";
  bad_unit(whole, msg);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// A unit expression as one term: its binary/base scale and its power of ten kept apart, so a
/// value is multiplied by them with one rounding ("5 us" is 5e-6 exactly as written).
Term parse_terms(std::string_view unit) {
  unit = trim(unit);
  Term acc;
  if (unit.empty() || unit == "1") return acc;
  bool first = true;
  std::size_t start = 0;
  while (start <= unit.size()) {
    std::size_t slash = unit.find('/', start);
    std::string_view term = trim(unit.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    const Term t = parse_term(term, unit);
    if (first) {
      acc = t;
      first = false;
    } else {
      acc.scale /= t.scale;
      acc.exp10 -= t.exp10;
      acc.dim = acc.dim / t.dim;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return acc;
}

}  // namespace

UnitInfo parse_unit(std::string_view unit) {
  const Term t = parse_terms(unit);
  return {times_pow10(t.scale, t.exp10), t.dim};
}

std::string quoted(std::string_view text) {
  std::string s;
  s.reserve(text.size() + 2);
  s.push_back('"');
  s.append(text);
  s.push_back('"');
  return s;
}

AnyQuantity parse(std::string_view text, ParseOptions options) {
  const std::string shown = quoted(text);
  std::string_view s = trim(text);
  if (s.empty()) throw InvalidArgument("cannot parse empty text as a quantity");
  double number = 0.0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, number);
  if (ec == std::errc::result_out_of_range) {
    throw InvalidArgument("cannot parse " + shown + ": number out of range");
  }
  if (ec != std::errc{} || ptr == first) {
    throw InvalidArgument("cannot parse " + shown + ": expected a number followed by a unit");
  }
  if (!std::isfinite(number)) {
    throw InvalidArgument("cannot parse " + shown + ": the number must be finite (not NaN or inf)");
  }
  if (ptr != last && (*ptr == ',' || *ptr == '_')) {
    throw InvalidArgument("cannot parse " + shown +
                          ": digit separators are not allowed; write 1200 not 1,200");
  }
  Term u{};
  try {
    u = parse_terms(std::string_view(ptr, static_cast<std::size_t>(last - ptr)));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("cannot parse " + shown + ": " + e.what());
  }
  double value = times_pow10(number * u.scale, u.exp10);
  if (!std::isfinite(value)) {
    throw InvalidArgument("cannot parse " + shown + ": value overflows a double");
  }
  if (value < 0.0 && !options.allow_negative) {
    throw InvalidArgument("cannot parse " + shown + ": negative values are not allowed here");
  }
  if (value == 0.0) value = 0.0;  // normalise -0
  return {value, u.dim};
}

// ---------------------------------------------------------------------------------------------
// Formatting

namespace {

double round_significant(double v, int digits) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  const double mag = std::floor(std::log10(std::fabs(v)));
  const double factor = std::pow(10.0, static_cast<double>(digits - 1) - mag);
  // Near the ends of the double range the scale itself overflows or underflows (1e-307 gave NaN).
  if (!std::isfinite(factor) || factor == 0.0 || !std::isfinite(v * factor)) return v;
  return std::round(v * factor) / factor;
}

// Prints a mantissa with `digits` significant digits, no exponent, no trailing zeros.
std::string mantissa(double x, int digits) {
  const double ax = std::fabs(x);
  // Beyond the prefixes' reach (below a thousandth of the smallest, above a thousand of the
  // largest) the number keeps its exponent: "1e-18 ps", not eighteen zeros or "0".
  // std::to_chars, not printf: the C locale a host program sets must not turn 1.5 into "1,5".
  if (ax > 0.0 && (ax < 1e-3 || ax >= 1e15)) {
    char buf[64];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, digits).ptr);
  }
  int decimals = 0;
  if (ax > 0.0) {
    const int mag = static_cast<int>(std::floor(std::log10(ax)));
    decimals = std::max(0, digits - 1 - mag);
  }
  char buf[400];  // fixed notation of up to 1e15 with a few decimals
  std::string s(buf, std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, decimals).ptr);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

struct Scale {
  const char* prefix;
  double factor;
};

constexpr std::array<Scale, 7> kLarge{
    {{"", 1.0}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18}}};
constexpr std::array<Scale, 7> kBinary{{{"", 1.0},
                                        {"Ki", 1024.0},
                                        {"Mi", 1048576.0},
                                        {"Gi", 1073741824.0},
                                        {"Ti", 1099511627776.0},
                                        {"Pi", 1125899906842624.0},
                                        {"Ei", 1152921504606846976.0}}};
constexpr std::array<Scale, 4> kSmall{{{"m", 1e-3}, {"\xC2\xB5", 1e-6}, {"n", 1e-9}, {"p", 1e-12}}};

std::string with_prefix(double v, const char* unit, int digits, bool allow_small) {
  const double r = round_significant(v, digits);
  const double a = std::fabs(r);
  if (a != 0.0 && a < 1.0 && allow_small) {
    for (const auto& s : kSmall) {
      if (a >= s.factor * (1.0 - 1e-12)) return mantissa(r / s.factor, digits) + " " + s.prefix + unit;
    }
    return mantissa(r / kSmall.back().factor, digits) + " " + kSmall.back().prefix + unit;
  }
  const Scale* chosen = &kLarge.front();
  for (const auto& s : kLarge) {
    if (a >= s.factor * (1.0 - 1e-12)) chosen = &s;
  }
  return mantissa(r / chosen->factor, digits) + " " + chosen->prefix + unit;
}

// Byte sizes that are an exact multiple of a binary unit print in IEC (80 GiB, 64 KiB).
const Scale* exact_binary(double v) {
  const double a = std::fabs(v);
  if (a < 1024.0 || a != std::floor(a)) return nullptr;
  for (auto it = kBinary.rbegin(); it != kBinary.rend(); ++it) {
    const double q = a / it->factor;
    if (it->factor > 1.0 && q >= 1.0 && q < 1024.0 && q == std::floor(q)) return &*it;
  }
  return nullptr;
}

}  // namespace

std::string format(double v, Dim d, FormatOptions o) {
  if (std::isnan(v)) return "nan " + dimension_symbol(d);
  if (std::isinf(v)) return std::string(v < 0 ? "-inf " : "inf ") + dimension_symbol(d);
  if (o.significant < 1 || o.significant > 15) {
    throw InvalidArgument("format: significant must be in 1..15, got " + std::to_string(o.significant));
  }
  const int digits = o.significant;
  if (d == dim::byte || d == dim::bandwidth) {
    const bool rate = d == dim::bandwidth;
    const char* unit = o.bits ? (rate ? "b/s" : "b") : (rate ? "B/s" : "B");
    const double x = o.bits ? v * 8.0 : v;
    const Scale* bin = nullptr;
    if (o.prefixes == PrefixSystem::iec || (o.prefixes == PrefixSystem::automatic && !rate)) {
      bin = exact_binary(x);
      if (o.prefixes == PrefixSystem::iec && bin == nullptr) {
        bin = &kBinary.front();
        for (const auto& s : kBinary) {
          if (std::fabs(x) >= s.factor) bin = &s;
        }
      }
    }
    if (bin != nullptr) {
      double r = round_significant(x / bin->factor, digits);
      // Rounding can reach the next prefix (1023.99 TiB at 3 digits is 1024 TiB): say 1 PiB.
      if (std::fabs(r) >= 1024.0 && bin != &kBinary.back()) {
        ++bin;
        r = round_significant(x / bin->factor, digits);
      }
      return mantissa(r, digits) + " " + bin->prefix + unit;
    }
    return with_prefix(x, unit, digits, false);
  }
  if (d == dim::none) return mantissa(round_significant(v, digits), digits);
  if (d == dim::money) return mantissa(round_significant(v, digits), digits) + " USD";
  const bool small_ok = d == dim::time || d == dim::power || d == dim::energy ||
                        d == dim::frequency || d == dim::energy / dim::flop ||
                        d == dim::energy / dim::byte;
  if (d == dim::time && std::fabs(v) >= 1.0) {
    return mantissa(round_significant(v, digits), digits) + " s";
  }
  return with_prefix(v, dimension_symbol(d).c_str(), digits, small_ok);
}

}  // namespace perfmodel::units
