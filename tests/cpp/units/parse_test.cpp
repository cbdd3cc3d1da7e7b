#include <string>

#include <catch2/catch.hpp>

#include <libperfmodel/units/parse.hpp>

using namespace perfmodel;
namespace u = perfmodel::units;
using Catch::Matchers::Contains;

TEST_CASE("parse reads the spellings found in datasheets", "[units][parse]") {
  CHECK(u::parse_as<u::dim::bandwidth>("3.35 TB/s").value() == Approx(3.35e12));
  CHECK(u::parse_as<u::dim::flop_rate>("989.4 TFLOP/s").value() == Approx(989.4e12));
  CHECK(u::parse_as<u::dim::flop_rate>("989.4 TFLOPS").value() == Approx(989.4e12));
  CHECK(u::parse_as<u::dim::flop_rate>("1979 TOPS").value() == Approx(1979e12));
  CHECK(u::parse_as<u::dim::byte>("141 GB").value() == Approx(141e9));
  CHECK(u::parse_as<u::dim::byte>("80 GiB").value() == 80.0 * 1073741824.0);
  CHECK(u::parse_as<u::dim::bandwidth>("400 Gb/s").value() == Approx(50e9));
  CHECK(u::parse_as<u::dim::bandwidth>("400 Gbps").value() == Approx(50e9));
  CHECK(u::parse_as<u::dim::power>("700 W").value() == Approx(700.0));
  CHECK(u::parse_as<u::dim::power>("1.2 kW").value() == Approx(1200.0));
  CHECK(u::parse_as<u::dim::time>("2 us").value() == Approx(2e-6));
  CHECK(u::parse_as<u::dim::time>("2 \xC2\xB5s").value() == Approx(2e-6));
  CHECK(u::parse_as<u::dim::time>("1.5 ms").value() == Approx(1.5e-3));
  CHECK(u::parse_as<u::dim::time>("3 h").value() == Approx(10800.0));
  CHECK(u::parse_as<u::dim::frequency>("1.98 GHz").value() == Approx(1.98e9));
  CHECK(u::parse_as<u::dim::energy>("1 kWh").value() == Approx(3.6e6));
  CHECK(u::parse_as<u::dim::money>("25000 USD").value() == Approx(25000.0));
  CHECK(u::parse_as<u::dim::none>("65.4 %").value() == Approx(0.654));
  CHECK(u::parse_as<u::dim::intensity>("295 FLOP/B").value() == Approx(295.0));
  CHECK(u::parse_as<u::dim::energy / u::dim::byte>("7 pJ/B").value() == Approx(7e-12));
  CHECK(u::parse_as<u::dim::bandwidth>("3.35TB/s").value() == Approx(3.35e12));
  CHECK(u::parse_as<u::dim::bandwidth>("  1e3 GB/s ").value() == Approx(1e12));
}

TEST_CASE("decimal and binary prefixes are never confused", "[units][parse]") {
  const double gb = u::parse("1 GB").value;
  const double gib = u::parse("1 GiB").value;
  CHECK(gb == 1e9);
  CHECK(gib == 1073741824.0);
  CHECK(gb != gib);
  CHECK(u::parse("1 KiB").value == 1024.0);
  CHECK(u::parse("1 kB").value == 1000.0);
  CHECK(u::parse("1 TiB").value == 1099511627776.0);
}

TEST_CASE("bits and bytes are distinct", "[units][parse]") {
  CHECK(u::parse("8 b").value == 1.0);
  CHECK(u::parse("8 Gb").value == 1e9);
  CHECK(u::parse("8 GB").value == 8e9);
  CHECK(u::parse("1 Gib").value == 1073741824.0 / 8.0);
}

TEST_CASE("parse_unit alone gives scale and dimension", "[units][parse]") {
  const auto info = u::parse_unit("GB/s");
  CHECK(info.scale == 1e9);
  CHECK(info.dim == u::dim::bandwidth);
  CHECK(u::parse_unit("").dim == u::dim::none);
  CHECK(u::parse_unit("W").dim == u::dim::power);
  CHECK(u::parse_unit("J/s").dim == u::dim::power);
}

namespace {
std::string error_of(const std::string& text) {
  try {
    (void)u::parse_as<u::dim::bandwidth>(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("wrong dimension is a UnitMismatch naming the text and the expected dimension",
          "[units][parse][errors]") {
  CHECK_THROWS_AS(u::parse_as<u::dim::bandwidth>("3.35 TB"), UnitMismatch);
  const std::string msg = error_of("3.35 TB");
  CHECK_THAT(msg, Contains("\"3.35 TB\""));
  CHECK_THAT(msg, Contains("B/s"));
  CHECK_THAT(msg, Contains("bandwidth"));
  CHECK_THROWS_AS(u::parse_as<u::dim::power>("700 J"), UnitMismatch);
  CHECK_THROWS_AS(u::parse_as<u::dim::flop>("10 TFLOPS"), UnitMismatch);
}

TEST_CASE("bad text is an InvalidArgument naming the text", "[units][parse][errors]") {
  for (const char* bad : {"", "   ", "TB/s", "3.35 XB/s", "3.35 KB", "3 Kb/s", "nan GB", "inf W",
                          "-5 W", "1,200 W", "3.35 GiW", "3 mB", "10 TFLOPs", "5 kUSD", "1e999 B",
                          "3.35 TB/", "3.35 TB//s", "abc", "0x10 B"}) {
    INFO("text: \"" << bad << "\"");
    CHECK_THROWS_AS(u::parse(bad), InvalidArgument);
  }
  CHECK_THAT(error_of("3.35 XB/s"), Contains("\"3.35 XB/s\"") && Contains("XB"));
  CHECK_THAT(error_of("3.35 KB/s"), Contains("ambiguous"));
  CHECK_THAT(error_of("-1 GB/s"), Contains("negative"));
  CHECK_THAT(error_of("nan GB/s"), Contains("finite"));
  CHECK_THAT(error_of(""), Contains("empty"));
}

TEST_CASE("negative values parse only when allowed", "[units][parse]") {
  CHECK(u::parse("-5 W", {.allow_negative = true}).value == -5.0);
  CHECK(u::parse("0 W").value == 0.0);
}
