// Topology metrics: every closed form agrees with a search on the explicit graph (BFS hop counts,
// max-flow bisection), torus shapes, fat-tree tiers and the oversubscription taper.
#include <catch2/catch.hpp>

#include <cmath>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/topology.hpp>

using namespace perfmodel;

namespace {
model::FabricLevel level(hw::Topology t, int ranks, double bw = 100e9) {
  model::FabricLevel lv;
  lv.name = "test";
  lv.topology = t;
  lv.ranks = ranks;
  lv.bandwidth = bw;
  lv.links = ranks - 1;
  return lv;
}

void check_against_graph(const model::FabricLevel& lv, bool scale_out = false) {
  const auto m = model::describe(lv, scale_out);
  const auto g = model::measure_graph(lv, scale_out);
  INFO(m.topology << " with " << lv.ranks << " ranks");
  CHECK(g.connected);
  CHECK(g.diameter == m.diameter);
  CHECK(g.mean_hops == Approx(m.mean_hops).epsilon(1e-12));
  CHECK(g.bisection_bandwidth == Approx(m.bisection_bandwidth).epsilon(1e-9));
}
}  // namespace

TEST_CASE("Topology: closed forms equal the graph search", "[model][topology]") {
  check_against_graph(level(hw::Topology::single_hop_switched, 72));
  check_against_graph(level(hw::Topology::full_mesh, 8));
  auto clos = level(hw::Topology::two_tier_clos, 96);
  clos.group_ranks = 16;
  check_against_graph(clos);
  for (const std::vector<int>& dims : {std::vector<int>{4, 4, 4}, {2, 4, 6}, {8, 8}, {2, 2, 2}, {4, 6, 8}}) {
    auto t = level(dims.size() == 3 ? hw::Topology::torus_3d : hw::Topology::torus_2d, 1);
    t.torus_dims = dims;
    t.ranks = 1;
    for (int k : dims) t.ranks *= k;
    check_against_graph(t);
  }
  // Odd rings: hop counts are exact ((k^2 - 1) / 4k per ring), the bisection formula is for even cuts.
  auto odd = level(hw::Topology::torus_2d, 35);
  odd.torus_dims = {5, 7};
  CHECK(model::measure_graph(odd).mean_hops == Approx(model::describe(odd).mean_hops).epsilon(1e-12));
  CHECK(model::measure_graph(odd).diameter == 5);
  // Fat-trees of 1, 2 and 3 tiers (radix 8: 8, 32, 128 endpoints), oversubscribed above the leaves.
  for (int endpoints : {8, 32, 96, 128}) {
    auto ft = level(hw::Topology::single_hop_switched, endpoints, 50e9);
    ft.switch_radix = 8;
    ft.tiers = endpoints <= 8 ? 1 : endpoints <= 32 ? 2 : 3;
    ft.oversubscription = 2.0;
    check_against_graph(ft, true);
    CHECK(model::describe(ft, true).switch_tiers == ft.tiers);
    CHECK(model::describe(ft, true).diameter == 2 * ft.tiers);
  }
  // A split the leaves do not align with: 100 endpoints on 32-endpoint leaves (radix 64) at 2:1;
  // the first 50 fill leaf 0 and 18 of leaf 1. The cheapest cut takes the uplinks of the 36
  // second-half endpoints on whole leaves (x 25 GB/s) and leaf 1's links to its other 14 (x 50).
  auto split = level(hw::Topology::single_hop_switched, 100, 50e9);
  split.switch_radix = 64;
  split.tiers = 2;
  split.oversubscription = 2.0;
  check_against_graph(split, true);
  CHECK(model::describe(split, true).bisection_bandwidth == Approx(36 * 25e9 + 14 * 50e9));
}

TEST_CASE("Topology: catalog systems and network options", "[model][topology]") {
  const auto& cat = catalog::Catalog::builtin();
  const model::Network cm(cat, "huawei-cloudmatrix-384", model::NetworkOptions{1, 2, {}, 0, 0});
  const auto m = model::describe(cm);
  REQUIRE(m.size() == 1);
  CHECK(m[0].topology == "two-tier-clos");
  CHECK(m[0].diameter == 4);
  // 15 of 767 peers share the node's L1 switches (2 links), the rest cross L2 (4 links).
  CHECK(m[0].mean_hops == Approx((15.0 * 2 + 752.0 * 4) / 767.0));
  CHECK(m[0].bisection_bandwidth == Approx(384 * cm.scale_up().bandwidth));

  // The default torus shape is the most balanced exact factorisation of the domain.
  const model::Network tpu(cat, "google-tpu-v5p-pod");
  CHECK(tpu.scale_up().torus_dims == std::vector<int>{16, 20, 28});
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(model::Network(cat, "google-tpu-v5p-pod", model::NetworkOptions{1, 1, {16, 16, 24}, 0, 0}),
                    Contains("torus_shape") && Contains("6144 ranks"));
  CHECK_THROWS_WITH(model::Network(cat, "nvidia-dgx-h100", model::NetworkOptions{1, 1, {2, 4}, 0, 0}),
                    Contains("not a torus"));
  CHECK_THROWS_WITH(model::Network(cat, "nvidia-dgx-h100", model::NetworkOptions{4, 1, {}, 0.5, 0}),
                    Contains("oversubscription"));
  // Only 0 means "the catalog's": -2, NaN and a 3-port switch were read as the default.
  // Past 1000 a taper is no fabric (1e308 gave inf times and a 0 TB/s bisection).
  for (double bad : {-2.0, std::nan(""), 1.0 / 0.0, 1e308, 1000.5}) {
    CHECK_THROWS_WITH(model::Network(cat, "nvidia-dgx-h100", model::NetworkOptions{4, 1, {}, bad, 0}),
                      Contains("oversubscription: must be 0 (the catalog's) or a number in [1, 1000]"));
  }
  for (int radix : {-5, 3, 65537}) {
    CHECK_THROWS_WITH(model::Network(cat, "nvidia-dgx-h100", model::NetworkOptions{4, 1, {}, 0, radix}),
                      Contains("switch_radix: must be 0 (the catalog's) or 4 to 65536 ports"));
  }
  CHECK_THROWS_WITH(model::Network(cat, "nvidia-gb200-nvl72", model::NetworkOptions{1, 1000000, {}, 0, 0}),
                    Contains("ranks_per_chip: must be in [1, 64], got 1000000"));

  // Oversubscription slows traffic that leaves a leaf switch by its ratio, not traffic inside one.
  const model::Network flat(cat, "nvidia-dgx-h100", model::NetworkOptions{128, 1, {}, 0, 0});
  const model::Network taper(cat, "nvidia-dgx-h100", model::NetworkOptions{128, 1, {}, 2.0, 0});
  REQUIRE(taper.scale_out()->tiers == 2);
  REQUIRE(taper.scale_out()->leaf_ranks == 32);
  const auto wide = [](const model::Network& n) {
    return model::estimate_spread(n, model::Collective::all_reduce, Bytes{4e9}, 128, 1).time.value();
  };
  const auto narrow = [](const model::Network& n) {
    return model::estimate_spread(n, model::Collective::all_reduce, Bytes{4e9}, 32, 1).time.value();
  };
  CHECK(wide(taper) / wide(flat) == Approx(2.0).epsilon(0.05));
  CHECK(narrow(taper) == Approx(narrow(flat)));
}

TEST_CASE("Benchmark: topology metrics, closed form vs graph search", "[!benchmark][topology]") {
  auto clos = level(hw::Topology::two_tier_clos, 768, 196e9);
  clos.group_ranks = 16;
  BENCHMARK("closed form: CloudMatrix 384 UB plane (768 dies)") { return model::describe(clos).mean_hops; };
  BENCHMARK("graph search: the same (BFS from every die + max flow)") { return model::measure_graph(clos).mean_hops; };
}

TEST_CASE("Topology: a level built by hand is checked before its graph is built", "[model][topology]") {
  // A torus shape that does not multiply to the ranks wrote past the graph's vertices (heap
  // corruption); a zero dimension divided by zero; negative bandwidth gave a negative bisection.
  auto t = level(hw::Topology::torus_2d, 16);
  t.torus_dims = {3, 5};
  CHECK_THROWS_WITH(model::measure_graph(t), Catch::Contains("torus_dims: a 2D torus of 16 ranks needs 2 dimensions "
                                                             "multiplying to the ranks; got 2 multiplying to 15"));
  t.torus_dims = {0, 4};
  CHECK_THROWS_WITH(model::describe(t), Catch::Contains("torus_dims: every dimension must be >= 1, got 0"));
  t.torus_dims = {1 << 30, 1 << 30};  // its product overflowed before the check
  CHECK_THROWS_WITH(model::describe(t), Catch::Contains("torus_dims: a dimension of 1073741824 exceeds the 16 ranks"));
  // A deep tree of wide switches: its group sizes overflowed to 0 and divided by zero (SIGFPE).
  model::FabricLevel deep;
  deep.name = "ib";
  deep.ranks = 100;
  deep.bandwidth = 50e9;
  deep.switch_radix = 64;
  deep.tiers = 8;
  CHECK(model::describe(deep, true).bisection_bandwidth > 0);
  CHECK(model::measure_graph(deep, true).bisection_bandwidth > 0);
  deep.tiers = 14;  // the case that crashed
  CHECK(model::describe(deep, true).bisection_bandwidth == Approx(model::measure_graph(deep, true).bisection_bandwidth));
  deep.bandwidth = 1e18;  // whole bytes per second overflowed the max-flow's int64 capacities near 1e19
  CHECK(model::measure_graph(deep, true).bisection_bandwidth == Approx(model::describe(deep, true).bisection_bandwidth));
  deep.tiers = 65;
  CHECK_THROWS_WITH(model::describe(deep, true), Catch::Contains("tiers: must be in [1, 64], got 65"));
  auto neg = level(hw::Topology::single_hop_switched, 8, -2e11);
  CHECK_THROWS_WITH(model::describe(neg), Catch::Contains("bandwidth: must be a positive number of B/s up to 1e18"));
  auto none = level(hw::Topology::single_hop_switched, -4);
  CHECK_THROWS_WITH(model::measure_graph(none), Catch::Contains("ranks: must be >= 1, got -4"));
  auto mesh = level(hw::Topology::full_mesh, 8);
  mesh.links = 0;
  CHECK_THROWS_WITH(model::describe(mesh), Catch::Contains("links: a full mesh of 8 ranks needs >= 1"));
  // A single DGX has no scale-out level to ask for.
  const model::Network one(catalog::Catalog::builtin(), "nvidia-dgx-h100");
  CHECK_THROWS_WITH(one.scale_out_for(2), Catch::Contains("has no scale-out level"));
  // Out-of-range enums are refused, not read past the tables.
  CHECK_THROWS_WITH(model::estimate(one, static_cast<model::Collective>(6), Bytes{1e9}, 8),
                    Catch::Contains("kind: not a Collective value (6)"));
  CHECK_THROWS_WITH(model::estimate(one, model::Collective::all_reduce, Bytes{1e9}, 8, static_cast<model::Algorithm>(42)),
                    Catch::Contains("algorithm: not a Algorithm value (42)"));
  CHECK(model::to_string(static_cast<model::Collective>(1000)) == "invalid");
  CHECK(hw::to_string(static_cast<hw::Topology>(-1)) == "invalid");
}
