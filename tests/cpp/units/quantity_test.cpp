// Compile-time proofs of the unit algebra, plus run-time checks of the arithmetic.
#include <type_traits>

#include <catch2/catch.hpp>

#include <libperfmodel/units/quantity.hpp>

using namespace perfmodel;
using namespace perfmodel::units::literals;
namespace u = perfmodel::units;

// --- The algebra, proven at compile time -----------------------------------------------------
static_assert(std::is_same_v<decltype(Flops{} / FlopRate{}), Seconds>);
static_assert(std::is_same_v<decltype(Bytes{} / Seconds{}), Bandwidth>);
static_assert(std::is_same_v<decltype(Bytes{} / Bandwidth{}), Seconds>);
static_assert(std::is_same_v<decltype(Bandwidth{} * Seconds{}), Bytes>);
static_assert(std::is_same_v<decltype(Watts{} * Seconds{}), Joules>);
static_assert(std::is_same_v<decltype(Joules{} / Seconds{}), Watts>);
static_assert(std::is_same_v<decltype(Flops{} / Bytes{}), ArithmeticIntensity>);
static_assert(std::is_same_v<decltype(ArithmeticIntensity{} * Bandwidth{}), FlopRate>);
static_assert(std::is_same_v<decltype(FlopRate{} * Seconds{}), Flops>);
static_assert(std::is_same_v<decltype(Seconds{} * Hertz{}), Ratio>);
static_assert(std::is_same_v<decltype(1.0 / Seconds{}), Hertz>);
static_assert(std::is_same_v<decltype(Bytes{} / Bytes{}), Ratio>);
static_assert(std::is_same_v<decltype(Dollars{} / Joules{}), u::Quantity<u::dim::money / u::dim::energy>>);
// Distinct dimensions are distinct types and do not convert into each other.
static_assert(!std::is_convertible_v<Bytes, Bandwidth>);
static_assert(!std::is_convertible_v<Flops, FlopRate>);
static_assert(!std::is_convertible_v<double, Seconds>);  // construction from double is explicit
static_assert(!std::is_same_v<Watts, Joules>);
// Values are exact where the arithmetic is exact.
static_assert((2_GB / 1_s).value() == 2e9);
static_assert((700_W * 2_s).value() == 1400.0);
static_assert(1_GiB != 1_GB);
static_assert((1_GiB).value() == 1073741824.0);
static_assert((1_GB).value() == 1e9);
static_assert(400_Gbps == 50_GBps);  // bits vs bytes
static_assert(1.2_kW == 1200_W);
static_assert((2_us).value() == 2e-6);
static_assert(Bytes{3} + Bytes{4} == Bytes{7});
static_assert(Bytes{3} < Bytes{4});

TEST_CASE("bandwidth times time gives bytes", "[units]") {
  const Bytes moved = 3.35_TBps * 1_ms;
  CHECK(moved.value() == Approx(3.35e9).epsilon(1e-15));
}

TEST_CASE("FLOPs over throughput gives seconds", "[units]") {
  const Flops work{2.0 * 8192.0 * 8192.0 * 8192.0};
  const Seconds t = work / 989.4_TFLOPs;
  CHECK(t.value() == Approx(1.1113e-3).epsilon(1e-3));
}

TEST_CASE("arithmetic intensity times bandwidth is a throughput ceiling", "[units]") {
  const ArithmeticIntensity ai = Flops{1e9} / Bytes{1e8};  // 10 FLOP/B
  const FlopRate ceiling = ai * 3.35_TBps;
  CHECK(ceiling.value() == Approx(33.5e12));
}

TEST_CASE("energy is power times time and converts back", "[units]") {
  const Joules e = 145_kW * Seconds{3600.0};
  CHECK(e.value() == Approx(522e6));
  CHECK((e / Seconds{3600.0}).value() == Approx(145e3));
}

TEST_CASE("compound assignment and scaling", "[units]") {
  Bytes b = 1_GB;
  b += 1_GB;
  b *= 2.0;
  CHECK(b == 4_GB);
  b -= 1_GB;
  b /= 3.0;
  CHECK(b == 1_GB);
  CHECK((-b).value() == -1e9);
  CHECK((2.0 * b) == 2_GB);
}
