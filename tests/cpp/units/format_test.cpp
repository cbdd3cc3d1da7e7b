#include <sstream>

#include <catch2/catch.hpp>

#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>

using namespace perfmodel;
namespace u = perfmodel::units;

TEST_CASE("format picks sensible prefixes", "[units][format]") {
  CHECK(u::format(Bandwidth{3.35e12}) == "3.35 TB/s");
  CHECK(u::format(FlopRate{989.4e12}) == "989 TFLOP/s");
  CHECK(u::format(Bytes{80.0 * 1073741824.0}) == "80 GiB");
  CHECK(u::format(Bytes{141e9}) == "141 GB");
  CHECK(u::format(Watts{1200.0}) == "1.2 kW");
  CHECK(u::format(Watts{700.0}) == "700 W");
  CHECK(u::format(Seconds{2e-6}) == "2 \xC2\xB5s");
  CHECK(u::format(Seconds{0.0494}) == "49.4 ms");
  CHECK(u::format(Seconds{86400.0}) == "86400 s");
  CHECK(u::format(Hertz{1.98e9}) == "1.98 GHz");
  CHECK(u::format(Joules{3.6e6}) == "3.6 MJ");
  CHECK(u::format(Ratio{0.5}) == "0.5");
  CHECK(u::format(Dollars{25000.0}) == "25000 USD");
  CHECK(u::format(Flops{0.0}) == "0 FLOP");
}

TEST_CASE("rounding carries into the next prefix", "[units][format]") {
  CHECK(u::format(Bytes{999.7e9}) == "1 TB");
  CHECK(u::format(FlopRate{999.96e15}) == "1 EFLOP/s");
}

TEST_CASE("format options: digits, prefix system, bits", "[units][format]") {
  CHECK(u::format(FlopRate{989.4e12}, {.significant = 4}) == "989.4 TFLOP/s");
  CHECK(u::format(Bandwidth{50e9}, {.bits = true}) == "400 Gb/s");
  CHECK(u::format(Bytes{64e9}, {.prefixes = u::PrefixSystem::iec}) == "59.6 GiB");
  CHECK(u::format(Bytes{80.0 * 1073741824.0}, {.prefixes = u::PrefixSystem::si}) == "85.9 GB");
  // Digits outside 1..15 are an error, not clamped.
  CHECK_THROWS_AS(u::format(Bytes{1.0}, {.significant = 0}), perfmodel::InvalidArgument);
  CHECK_THROWS_AS(u::format(Bytes{1.0}, {.significant = 100}), perfmodel::InvalidArgument);
}

TEST_CASE("parse and format round-trip", "[units][format][parse]") {
  for (const char* text : {"3.35 TB/s", "80 GiB", "141 GB", "700 W", "1.2 kW", "1.98 GHz",
                           "49.4 ms", "989 TFLOP/s", "50 GB/s"}) {
    INFO(text);
    CHECK(u::format(u::parse(text)) == text);
  }
}

TEST_CASE("non-finite values never format as numbers silently", "[units][format]") {
  CHECK(u::format(Bytes{std::numeric_limits<double>::quiet_NaN()}) == "nan B");
  CHECK(u::format(Watts{std::numeric_limits<double>::infinity()}) == "inf W");
}

TEST_CASE("dimension symbols and names", "[units]") {
  CHECK(u::dimension_symbol(u::dim::bandwidth) == "B/s");
  CHECK(u::dimension_symbol(u::dim::flop_rate) == "FLOP/s");
  CHECK(u::dimension_symbol(u::dim::power) == "W");
  CHECK(u::dimension_symbol(u::dim::none) == "1");
  CHECK(u::dimension_symbol(u::dim::byte * u::dim::byte) == "B^2");
  CHECK(u::dimension_symbol(u::dim::money / (u::dim::energy * u::dim::time)) == "USD/(J*s)");
  CHECK(u::dimension_name(u::dim::bandwidth) == "bandwidth");
  std::ostringstream os;
  os << Bandwidth{3.35e12};
  CHECK(os.str() == "3.35 TB/s");
}
