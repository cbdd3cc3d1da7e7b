// Collectives in C++: nccl-tests factors, size monotonicity, errors, and the speed benchmark.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/collectives.hpp>

using namespace perfmodel;
using model::Algorithm;
using model::Collective;

namespace {
const model::Network& dgx_h100() {
  static const model::Network n(catalog::Catalog::builtin(), "nvidia-dgx-h100");
  return n;
}
}  // namespace

TEST_CASE("Collectives: busbw factors and monotonic bandwidth in size", "[model][collectives]") {
  const auto r = model::estimate(dgx_h100(), Collective::all_reduce, Bytes{1e9}, 8, Algorithm::ring);
  CHECK(r.busbw.value() == Approx(r.algbw.value() * 1.75));
  double prev = 0;
  for (double s = 1024; s <= 8e9; s *= 4) {
    const auto e = model::estimate(dgx_h100(), Collective::all_reduce, Bytes{s}, 8);
    REQUIRE(e.busbw.value() > prev);
    REQUIRE(std::isfinite(e.time.value()));
    prev = e.busbw.value();
  }
  CHECK(model::estimate(dgx_h100(), Collective::all_reduce, Bytes{8e9}, 8).algorithm == Algorithm::in_network);
}

TEST_CASE("Collectives: small messages take the low-latency protocol, in-network reduction does not",
          "[model][collectives]") {
  // Hopper NVLink: half_size 21 MB. Below it the byte time is twice the bulk rate's and
  // proportional to size; above it the bulk protocol adds a constant fill.
  auto bytes_time = [](double s, Algorithm alg) {
    const auto r = model::estimate(dgx_h100(), Collective::all_reduce, Bytes{s}, 8, alg);
    return r.time.value() - r.latency.value();
  };
  CHECK(bytes_time(2e6, Algorithm::ring) == Approx(2.0 * bytes_time(1e6, Algorithm::ring)));
  CHECK(bytes_time(8e6, Algorithm::ring) == Approx(8.0 * bytes_time(1e6, Algorithm::ring)));
  const double step = bytes_time(128e6, Algorithm::ring) - bytes_time(64e6, Algorithm::ring);
  CHECK(bytes_time(192e6, Algorithm::ring) - bytes_time(128e6, Algorithm::ring) == Approx(step));
  // Bulk rate x 64 MB is step; below the half size the same bytes cost twice that.
  CHECK(bytes_time(16e6, Algorithm::ring) == Approx(2.0 * step / 4.0));
  // Continuous where the regimes meet.
  CHECK(bytes_time(21e6 * 0.999, Algorithm::ring) == Approx(bytes_time(21e6 * 1.001, Algorithm::ring)).epsilon(0.01));
  // NVLS is affine at every size: the fill is paid even by a 1 MB message.
  const double nvls_step = bytes_time(2e6, Algorithm::in_network) - bytes_time(1e6, Algorithm::in_network);
  CHECK(bytes_time(3e6, Algorithm::in_network) - bytes_time(2e6, Algorithm::in_network) == Approx(nvls_step));
  CHECK(bytes_time(1e6, Algorithm::in_network) > 10.0 * nvls_step);
}

TEST_CASE("Collectives: a broadcast run as an all-reduce says so", "[model][collectives]") {
  // 1 GB over the 910B's 8-way mesh: the root's seven direct copies cost more than a
  // reduce-scatter + all-gather of the buffer, so the automatic choice runs that all-reduce.
  const model::Network mesh(catalog::Catalog::builtin(), "huawei-atlas-800t-a2");
  const auto ar = model::estimate(mesh, Collective::all_reduce, Bytes{1e9}, 8);
  const auto bc = model::estimate(mesh, Collective::broadcast, Bytes{1e9}, 8);
  CHECK(bc.as_all_reduce);
  CHECK(bc.algorithm == ar.algorithm);
  CHECK(bc.time.value() == Approx(ar.time.value()));
  const auto direct = model::estimate(mesh, Collective::broadcast, Bytes{1e9}, 8, Algorithm::direct);
  CHECK_FALSE(direct.as_all_reduce);
  CHECK(direct.time.value() > bc.time.value());
  CHECK_FALSE(model::estimate(mesh, Collective::broadcast, Bytes{1024}, 8).as_all_reduce);
  CHECK_FALSE(ar.as_all_reduce);
}

TEST_CASE("Collectives: bad input names the field", "[model][collectives][errors]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(model::estimate(dgx_h100(), Collective::all_reduce, Bytes{1e6}, 9), Contains("ranks"));
  CHECK_THROWS_WITH(model::estimate(dgx_h100(), Collective::all_reduce, Bytes{0}, 8), Contains("size"));
  const model::Network a100(catalog::Catalog::builtin(), "nvidia-dgx-a100");
  CHECK_THROWS_WITH(model::estimate(a100, Collective::all_reduce, Bytes{1e6}, 8, Algorithm::in_network),
                    Contains("no in-network reduction"));
  CHECK_THROWS_WITH(model::algorithm_from_string("magic"), Contains("expected one of auto"));
  model::MoeExchange op;
  op.ranks = 7;
  CHECK_THROWS_WITH(model::estimate(dgx_h100(), op), Contains("experts"));
  // A 2- or 3-port switch adds no endpoints per fat-tree tier (the tree never reaches 3 nodes).
  model::NetworkOptions o;
  o.nodes = 3;
  o.switch_radix = 2;
  CHECK_THROWS_WITH(model::Network(catalog::Catalog::builtin(), "nvidia-dgx-h100", o), Contains("switch_radix: must be 0 (the catalog's) or 4 to 65536 ports, got 2"));
  o.switch_radix = 4;
  o.nodes = 5;  // 5 domains on 4-port switches: two tiers
  CHECK(model::Network(catalog::Catalog::builtin(), "nvidia-dgx-h100", o).scale_out()->tiers == 2);
  // A group spread one rank per domain over more domains than the network has (16 over 2 nodes).
  model::NetworkOptions two;
  two.nodes = 2;
  const model::Network n2(catalog::Catalog::builtin(), "nvidia-dgx-h100", two);
  CHECK_THROWS_WITH(model::estimate_spread(n2, Collective::all_reduce, Bytes{1e6}, 16, 1),
                    Contains("16 ranks at 1 per scale-up domain need 16 domains; the network of nvidia-dgx-h100 has 2"));
  CHECK(model::estimate_spread(n2, Collective::all_reduce, Bytes{1e6}, 2, 1).time.value() > 0.0);
  // Huge sizes stay monotone: bandwidth x bytes overflowed to inf and 1e297 B took 6 us.
  CHECK(model::estimate(dgx_h100(), Collective::all_reduce, Bytes{1e297}, 8).time.value() >
        model::estimate(dgx_h100(), Collective::all_reduce, Bytes{1e296}, 8).time.value());
  model::MoeExchange inf_width;
  inf_width.ranks = 8;
  inf_width.bytes_per_element = std::numeric_limits<double>::infinity();  // gave time inf, bandwidth NaN
  CHECK_THROWS_WITH(model::estimate(dgx_h100(), inf_width), Contains("bytes_per_element: must be a positive, finite number"));
}

TEST_CASE("Benchmark: one collective estimate vs a baseline alpha-beta formula", "[!benchmark][collectives]") {
  const auto& n = dgx_h100();
  BENCHMARK("baseline: a + s/b for 1024 sizes") {
    double t = 0;
    for (int i = 1; i <= 1024; ++i) t += 3e-6 + i * 1e6 / 450e9;
    return t;
  };
  BENCHMARK("estimate: 1024 all-reduce (auto algorithm)") {
    double t = 0;
    for (int i = 1; i <= 1024; ++i) t += model::estimate(n, Collective::all_reduce, Bytes{i * 1e6}, 8).time.value();
    return t;
  };
}
