// Power model in C++: chip draw and its cap, system build-ups, energy of an estimate, bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include <libperfmodel/perfmodel.hpp>

using namespace perfmodel;
using Catch::Contains;

TEST_CASE("chip draw: idle plus work, capped at TDP", "[power]") {
  const auto& cat = catalog::Catalog::builtin();
  const model::ChipEnergy e = model::chip_energy(cat, "nvidia-h100-sxm");
  REQUIRE(e.max_watts == Approx(700.0));
  REQUIRE(e.idle_watts == Approx(0.135 * 700.0));
  model::Activity a;
  a.seconds = 1.0;
  REQUIRE(model::chip_draw(e, a).watts == Approx(e.idle_watts));  // no work: idle
  // 1 s of 200 TB of HBM traffic at 86 pJ/B is 17.2 kW: the chip throttles at its TDP.
  a.hbm_bytes = 200e12;
  const model::ChipDraw big = model::chip_draw(e, a);
  REQUIRE(big.capped);
  REQUIRE(big.watts == Approx(700.0));
  // More bandwidth-bound work in the same time never draws less (property over a sweep).
  double last = 0;
  for (double bytes = 0; bytes <= 4e12; bytes += 0.25e12) {
    a.hbm_bytes = bytes;
    const double w = model::chip_draw(e, a).watts;
    REQUIRE(w >= last);
    last = w;
  }
  a.seconds = 0;
  REQUIRE_THROWS_WITH(model::chip_draw(e, a), Contains("activity.seconds"));
}

TEST_CASE("a policy built in code is checked as the loader checks one", "[power]") {
  const auto& cat = catalog::Catalog::builtin();
  hw::EfficiencyPolicy pol = cat.efficiency("huawei-ascend-davinci");
  pol.energy.idle_fraction = hw::Figure<double>::known_value(1.0, pol.energy.idle_fraction.provenance(),
                                                              pol.energy.idle_fraction.field());
  // The 910C has no TDP: its maximum divides by 1 - idle_fraction.
  CHECK_THROWS_WITH(model::chip_energy(cat.chip("huawei-ascend-910c"), pol),
                    Contains("energy.idle_fraction must lie in [0, 1), got 1"));
}

TEST_CASE("system power rebuilds the published figures from components", "[power]") {
  const auto& cat = catalog::Catalog::builtin();
  const model::SystemPower cm = model::system_power(cat, "huawei-cloudmatrix-384");
  REQUIRE(cm.published_watts.has_value());
  CHECK(std::abs(cm.it_watts / *cm.published_watts - 1.0) < 0.10);
  double sum = 0;
  for (const auto& r : cm.rows) sum += r.watts;
  REQUIRE(sum == Approx(cm.it_watts));
  model::PowerOptions o;
  o.utilization = 0.0;
  const model::SystemPower idle = model::system_power(cat, "nvidia-gb200-nvl72", o);
  REQUIRE(idle.chip_watts == Approx(0.135 * 1200.0));
  o.utilization = 1.5;
  REQUIRE_THROWS_WITH(model::system_power(cat, "nvidia-gb200-nvl72", o), Contains("utilization"));
  o.utilization = 1.0;
  o.pue = 0.9;
  REQUIRE_THROWS_WITH(model::system_power(cat, "nvidia-gb200-nvl72", o), Contains("pue"));
  REQUIRE_THROWS_WITH(model::system_power(cat, "nvidia-hgx-h20"), Contains("power_model"));
}

TEST_CASE("energy of an estimate: all-in share per chip", "[power]") {
  const auto& cat = catalog::Catalog::builtin();
  const model::ChipEnergy e = model::chip_energy(cat, "nvidia-gb200");
  const model::SystemOverhead o = model::system_overhead(cat.system("nvidia-gb200-nvl72"));
  REQUIRE(o.present);
  model::Activity a;
  a.seconds = 2.0;
  a.matrix_flops[static_cast<std::size_t>(hw::Precision::fp8)] = 2.0 * 1e15;  // 1 PFLOP/s of FP8
  const model::EnergyEstimate r = model::energy_of(e, o, a, 72);
  REQUIRE(r.chip_watts == Approx(e.idle_watts + 0.31e-12 * 1e15));
  REQUIRE(r.watts_per_chip == Approx((r.chip_watts + o.fixed_watts / 72) / o.delivery_efficiency * (1 + o.cooling_overhead)));
  REQUIRE(r.joules == Approx(r.watts * 2.0));
  REQUIRE(r.basis == "system");
  // A chip count that is not a positive number is refused (NaN gave NaN watts, -4 negative ones).
  for (double bad : {std::nan(""), -4.0, 0.0}) {
    REQUIRE_THROWS_WITH(model::energy_of(e, o, a, bad), Catch::Contains("chips: expected a positive, finite count"));
  }
  // A system built in code without a chip count names the field.
  hw::System s;
  s.id = "my-rack";
  REQUIRE_THROWS_WITH(s.chip_count(), Catch::Contains("my-rack") && Catch::Contains("chips"));
}
