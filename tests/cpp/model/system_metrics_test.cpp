// CloudMatrix 384 vs GB200 NVL72: the published comparison (SemiAnalysis, "Huawei AI CloudMatrix
// 384 - China's Answer to Nvidia GB200 NVL72", 2025-04-16) must come out of the catalog.
#include <catch2/catch.hpp>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/system_metrics.hpp>

using namespace perfmodel;
using catalog::Catalog;

namespace {
constexpr auto kBf16 = static_cast<std::size_t>(hw::Precision::bf16);

bool within(double got, double want, double tol) {
  const double err = got / want - 1.0;
  UNSCOPED_INFO("got " << got << ", want " << want << ", signed error " << err * 100.0 << " %");
  return std::abs(err) <= tol;
}
}  // namespace

TEST_CASE("CloudMatrix 384 vs GB200 NVL72 headline figures within 5 %", "[model][compare]") {
  const Catalog& cat = Catalog::builtin();
  const auto cm = model::system_totals(cat, cat.system("huawei-cloudmatrix-384"));
  const auto nv = model::system_totals(cat, cat.system("nvidia-gb200-nvl72"));
  REQUIRE(cm.chips == 384);
  REQUIRE(nv.chips == 72);
  const double cm_bf16 = cm.peak[kBf16]->value(), nv_bf16 = nv.peak[kBf16]->value();
  const double cm_cap = cm.memory_capacity->value(), nv_cap = nv.memory_capacity->value();
  const double cm_bw = cm.memory_bandwidth->value(), nv_bw = nv.memory_bandwidth->value();
  const double cm_w = cm.power->value(), nv_w = nv.power->value();

  CHECK(within(cm_bf16, 300e15, 0.05));
  CHECK(within(nv_bf16, 180e15, 0.05));
  CHECK(within(cm_cap / nv_cap, 3.6, 0.05));
  CHECK(within(cm_bw / nv_bw, 2.1, 0.05));
  CHECK(within(cm_w, 559e3, 0.05));
  CHECK(within(nv_w, 145e3, 0.05));
  CHECK(within(cm_w / nv_w, 3.9, 0.05));
  CHECK(within((cm_w / cm_bf16) / (nv_w / nv_bf16), 2.3, 0.05));   // W per BF16 FLOP/s
  CHECK(within((cm_w / cm_bw) / (nv_w / nv_bw), 1.8, 0.05));       // W per TB/s of HBM
  CHECK(within((cm_w / cm_cap) / (nv_w / nv_cap), 1.1, 0.05));     // W per TB of HBM
}

// The catalog keeps the best-sourced 910C BF16 figure, 752 TFLOP/s (Huawei's CloudMatrix384
// paper, arXiv:2506.12708), which puts the BF16 ratio at 1.60x: 5.6 % under SemiAnalysis'
// rounded 1.7x. SemiAnalysis used its own 780 TFLOP/s estimate; with that what-if figure the
// same catalog reproduces 1.7x. Both are asserted so a data change cannot slip by.
TEST_CASE("BF16 ratio: paper figure 752 gives 1.60x, SemiAnalysis' 780 gives 1.7x", "[model][compare]") {
  const Catalog& cat = Catalog::builtin();
  const double nv = model::system_totals(cat, cat.system("nvl72")).peak[kBf16]->value();
  const double cm = model::system_totals(cat, cat.system("cm384")).peak[kBf16]->value();
  CHECK(within(cm / nv, 1.604, 0.005));
  const Catalog whatif = cat.with_json(
      {{"910c-780.json", R"({"id": "ascend-910c-semianalysis", "kind": "chip", "extends": "910c",
          "compute": {"bf16": {"matrix": {"value": "780 TFLOP/s", "source": "SemiAnalysis 2025-04-16",
                                          "confidence": "analyst"}}}})"},
       {"cm384-780.json", R"({"id": "cm384-semianalysis", "kind": "system", "extends": "cm384",
          "chip": "ascend-910c-semianalysis"})"}});
  const double cm780 = model::system_totals(whatif, whatif.system("cm384-semianalysis")).peak[kBf16]->value();
  CHECK(within(cm780 / nv, 1.7, 0.05));
}

// Scale-up: the catalog keeps the paper's 392 GB/s per direction per NPU, so 384 NPUs give
// 301 TB/s both ways and 2.32x over NVL72's 130 TB/s. The 2.1x headline uses Huawei's 269 TB/s
// aggregate, which matches 384 x 14 ports x 400 Gb/s raw optical line rate, not UB payload
// bandwidth. Both are asserted; the catalog figure is not bent to the headline.
TEST_CASE("scale-up ratio: paper 392 GB/s/NPU gives 2.32x, Huawei's 269 TB/s gives 2.1x", "[model][compare]") {
  const Catalog& cat = Catalog::builtin();
  const double cm = model::system_totals(cat, cat.system("cm384")).scale_up_per_direction->value();
  const double nv = model::system_totals(cat, cat.system("nvl72")).scale_up_per_direction->value();
  CHECK(within(2.0 * nv, 130e12, 0.01));
  CHECK(within(cm / nv, 2.32, 0.01));
  CHECK(within(269e12 / (2.0 * nv), 2.1, 0.05));
}

TEST_CASE("system totals scale linearly with the chip count", "[model][property]") {
  const Catalog& cat = Catalog::builtin();
  for (const auto& id : cat.names(catalog::PartKind::system)) {
    const hw::System& s = cat.system(id);
    const hw::Chip& c = cat.chip(s.chip);
    const auto t = model::system_totals(cat, s);
    INFO(id);
    if (c.main_memory.bandwidth.known()) {
      CHECK(t.memory_bandwidth->value() == Approx(c.main_memory.bandwidth.require(c.id).value() * s.chip_count()));
    } else {
      CHECK(!t.memory_bandwidth);
      CHECK(!t.missing.empty());
    }
  }
}
