// Operator model: exact small cases worked by hand, physical properties over random shapes,
// every bad-input class, the roofline, and the speed benchmarks (run with "[!benchmark]").
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/model/roofline.hpp>

using namespace perfmodel;
using model::Bound;
using model::Device;
using workload::Attention;
using workload::Elementwise;
using workload::Gemm;
using P = hw::Precision;

namespace {
const Device& h100() {
  static const Device d = Device::from_catalog(catalog::Catalog::builtin(), "nvidia-h100-sxm");
  return d;
}
const Device& ascend910b() {
  static const Device d = Device::from_catalog(catalog::Catalog::builtin(), "huawei-ascend-910b");
  return d;
}

/// A copy of `base` whose HBM bandwidth is scaled by `k` (a what-if chip).
Device with_bandwidth(const Device& base, double k) {
  hw::Chip c = base.chip();
  const auto& bw = c.main_memory.bandwidth;
  c.main_memory.bandwidth = hw::Figure<Bandwidth>::known_value(bw.value_or(Bandwidth{}) * k, bw.provenance(), bw.field());
  return Device(c, base.policy());
}

bool finite_positive(double x) { return std::isfinite(x) && x > 0.0; }
}  // namespace

// A Device's parts read from a temporary are copies (a reference into it dangled with no diagnostic).
static_assert(std::is_same_v<decltype(model::Device::from_catalog(catalog::Catalog::builtin(), "h100").chip()), hw::Chip>);
static_assert(std::is_same_v<decltype(std::declval<const model::Device&>().chip()), const hw::Chip&>);
static_assert(std::is_same_v<decltype(std::declval<model::Network>().scale_up()), model::FabricLevel>);
static_assert(std::is_same_v<decltype(std::declval<model::ServingSystem>().device()), model::Device>);
static_assert(std::is_same_v<decltype(std::declval<model::TrainingSystem>().network()), model::Network>);
static_assert(std::is_same_v<decltype(std::declval<const model::TrainingSystem&>().network()), const model::Network&>);

TEST_CASE("GEMM: a large FP8 GEMM on H100 is compute bound at the Hopper fraction", "[model][operators]") {
  const auto e = model::estimate(h100(), Gemm::of(16384, 16384, 16384, P::fp8));
  CHECK(e.bound == Bound::compute);
  CHECK(e.flops.value() == 2.0 * 16384.0 * 16384.0 * 16384.0);
  // 2^42 FLOP of fp8 in, bf16 out: A and B 2^28 B each, C 2^29 B.
  CHECK(e.hbm_bytes.value() == Approx(2.0 * 268435456.0 + 536870912.0));
  const double frac = h100().fractions().matrix;
  CHECK(e.wave_efficiency > 0.99);
  CHECK(e.wave_efficiency <= 1.0);
  // Hopper's epilogue does not overlap: the main loop at the family fraction, then C at HBM speed.
  REQUIRE_FALSE(h100().fractions().epilogue_overlap);
  const double main_loop = e.flops.value() / (e.peak.value() * frac * e.wave_efficiency);
  const double store = 536870912.0 / (h100().hbm_bandwidth() * h100().fractions().memory);
  CHECK(e.compute_time.value() == Approx(main_loop + store).epsilon(1e-6));
  hw::EfficiencyPolicy pol = h100().policy();
  pol.epilogue_overlap = hw::Figure<bool>::known_value(true, {"test", hw::Confidence::derived, "overlapped", ""});
  const auto o = model::estimate(Device(h100().chip(), pol), Gemm::of(16384, 16384, 16384, P::fp8));
  CHECK(o.fraction_of_peak == Approx(frac * o.wave_efficiency).epsilon(0.002));
  CHECK(o.time.value() < e.time.value());
}

TEST_CASE("GEMM: worked case of wave quantization", "[model][operators]") {
  // One tile shape, 132 units: 133 tiles of 128x128 need two full waves.
  hw::EfficiencyPolicy pol = h100().policy();
  pol.tile_shapes = {{128, 128}};
  pol.epilogue_overlap = hw::Figure<bool>::known_value(true, {"test", hw::Confidence::derived, "main loop only", ""});
  const Device d(h100().chip(), pol);
  const auto e = model::estimate(d, Gemm::of(128 * 133, 128, 8192, P::bf16));
  CHECK(e.tile_m == 128);
  CHECK(e.wave_efficiency == Approx(133.0 / 264.0));
  const double per_unit = 989.4e12 * pol.matrix.value_or(0) / 132.0;
  CHECK(e.compute_time.value() == Approx(2.0 * 2.0 * 128 * 128 * 8192 / per_unit));
}

TEST_CASE("GEMM: small M turns memory bound, tiny ops are latency bound", "[model][operators]") {
  const auto decode = model::estimate(h100(), Gemm::of(64, 7168, 16384, P::fp8));
  CHECK(decode.bound == Bound::memory);
  CHECK(decode.achieved_bandwidth.value() < h100().hbm_bandwidth());
  const auto tiny = model::estimate(h100(), Gemm::of(16, 16, 16, P::bf16));
  CHECK(tiny.bound == Bound::latency);
  CHECK(tiny.time.value() == Approx(tiny.overhead.value()).epsilon(0.01));
}

TEST_CASE("GEMM: microbenchmark kernel runs at the peak-loop fraction with no HBM traffic", "[model][operators]") {
  Gemm op = Gemm::of(8192, 8192, 8192, P::fp16);
  op.kernel = Gemm::Kernel::microbenchmark;
  const auto e = model::estimate(ascend910b(), op);
  CHECK(e.hbm_bytes.value() == 0.0);
  CHECK(e.bound == Bound::compute);
  CHECK(e.achieved.value() == Approx(313e12 * ascend910b().fractions().matrix_microbenchmark).epsilon(0.01));
}

TEST_CASE("Property: more bandwidth never slows an op; memory-bound ops speed up in proportion", "[model][operators][property]") {
  const Device fast = with_bandwidth(h100(), 2.0);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> dim(1, 20000);
  for (int i = 0; i < 2000; ++i) {
    const Gemm g = Gemm::of(dim(rng), dim(rng), dim(rng), i % 2 ? P::bf16 : P::fp8);
    const auto slow_e = model::estimate(h100(), g), fast_e = model::estimate(fast, g);
    REQUIRE(fast_e.time.value() <= slow_e.time.value());
    if (slow_e.bound == Bound::memory && fast_e.bound == Bound::memory) {
      REQUIRE(fast_e.memory_time.value() == Approx(slow_e.memory_time.value() / 2.0));
    }
  }
  const Elementwise big{Elementwise::Kind::add, 1LL << 30, P::bf16};
  const double t1 = model::estimate(h100(), big).time.value() - h100().fractions().launch_overhead_s;
  const double t2 = model::estimate(fast, big).time.value() - h100().fractions().launch_overhead_s;
  CHECK(t1 / t2 == Approx(2.0));
}

TEST_CASE("Property: batched GEMM and long streams scale linearly", "[model][operators][property]") {
  // A batch of b identical large GEMMs takes b times the compute of one (full waves either way).
  const auto one = model::estimate(h100(), Gemm::of(8448, 8192, 4096, P::bf16));
  const auto four = model::estimate(h100(), Gemm{8448, 8192, 4096, 4, P::bf16, P::bf16, Gemm::Kernel::library});
  CHECK(four.flops.value() == 4.0 * one.flops.value());
  CHECK(four.compute_time.value() == Approx(4.0 * one.compute_time.value()).epsilon(0.02));
  const auto a = model::estimate(h100(), Elementwise{Elementwise::Kind::copy, 1LL << 28, P::bf16});
  const auto b = model::estimate(h100(), Elementwise{Elementwise::Kind::copy, 1LL << 29, P::bf16});
  CHECK(b.memory_time.value() == Approx(2.0 * a.memory_time.value()));
}

TEST_CASE("GEMM accumulation reads C as well as writing it", "[model][gemm]") {
  // A weight gradient 8192 x 8192 over 4096 tokens, accumulated in fp32 (C += A·B).
  const Gemm plain{8192, 8192, 4096, 1, P::bf16, P::fp32, Gemm::Kernel::library};
  Gemm acc = plain;
  acc.accumulate = true;
  const double c_bytes = 8192.0 * 8192.0 * 4.0;
  for (const char* chip : {"nvidia-h100-sxm", "nvidia-b200"}) {
    const Device d = Device::from_catalog(catalog::Catalog::builtin(), chip);
    const auto a = model::estimate(d, plain), b = model::estimate(d, acc);
    CHECK(b.hbm_bytes.value() - a.hbm_bytes.value() == Approx(c_bytes));
    CHECK(b.flops.value() == a.flops.value());
    // Hopper stores (and now loads) C after the main loop; Blackwell's epilogue overlaps it.
    const double extra = d.fractions().epilogue_overlap ? 0.0 : c_bytes / (d.hbm_bandwidth() * d.fractions().memory);
    CHECK(b.compute_time.value() - a.compute_time.value() == Approx(extra).margin(1e-12));
  }
  // The training triple: the weight gradient accumulates only when asked.
  const auto with = model::estimate_training_gemms(h100(), Gemm::of(4096, 8192, 8192));
  const auto without = model::estimate_training_gemms(h100(), Gemm::of(4096, 8192, 8192), P::fp32, false);
  CHECK(with.weight_grad.hbm_bytes.value() - without.weight_grad.hbm_bytes.value() == Approx(c_bytes));
  CHECK(with.input_grad.time.value() == without.input_grad.time.value());
}

TEST_CASE("cast_transpose reads 16 bits and writes two copies at the target width", "[model][operators]") {
  // n elements to FP8: 2n bytes read, 2 x 1n written; to bf16 (a transposed copy only): 2n + 4n.
  const std::int64_t n = 1LL << 28;
  const auto fp8 = model::estimate(h100(), Elementwise{Elementwise::Kind::cast_transpose, n, P::fp8});
  const auto bf16 = model::estimate(h100(), Elementwise{Elementwise::Kind::cast_transpose, n, P::bf16});
  CHECK(fp8.hbm_bytes.value() == Approx(4.0 * static_cast<double>(n)));
  CHECK(bf16.hbm_bytes.value() == Approx(6.0 * static_cast<double>(n)));
  // Memory bound: the same bytes as a bf16 copy of n elements (2n read + 2n written).
  const auto copy = model::estimate(h100(), Elementwise{Elementwise::Kind::copy, n, P::bf16});
  CHECK(fp8.time.value() == Approx(copy.time.value()));
  CHECK(workload::elementwise_kind_from_string("cast_transpose") == Elementwise::Kind::cast_transpose);
}

TEST_CASE("Property: no NaN or inf for any valid shape on any chip with a known bandwidth", "[model][operators][property]") {
  const auto& cat = catalog::Catalog::builtin();
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> small(1, 4096), big(1, 1 << 20);
  int checked = 0;
  for (const auto& id : cat.names(catalog::PartKind::chip)) {
    const hw::Chip& c = cat.chip(id);
    if (!c.main_memory.bandwidth.known()) continue;
    const Device d = Device::from_catalog(cat, id);
    for (P p : hw::kAllPrecisions) {
      if (!d.supports(p)) continue;
      for (int i = 0; i < 200; ++i) {
        const auto g = model::estimate(d, Gemm::of(big(rng), small(rng), big(rng), p, 1 + small(rng) % 8));
        Attention a = Attention::gqa(i % 2 ? Attention::Phase::decode : Attention::Phase::prefill, small(rng) % 64 + 1,
                                     1, 1 + big(rng) % 131072, 64, 8, 128);
        a.q_len = i % 2 ? 1 : a.kv_len;
        a.compute = p;
        const auto at = model::estimate(d, a);
        const auto el = model::estimate(d, Elementwise{static_cast<Elementwise::Kind>(i % 12), big(rng), p});
        for (const auto* e : {&g, &at, &el}) {
          REQUIRE(finite_positive(e->time.value()));
          REQUIRE(std::isfinite(e->achieved.value()));
          REQUIRE(std::isfinite(e->achieved_bandwidth.value()));
          REQUIRE(std::isfinite(e->intensity.value()));
          REQUIRE(std::isfinite(e->fraction_of_peak));
          REQUIRE(e->fraction_of_peak <= 1.2);
        }
        ++checked;
      }
    }
  }
  CHECK(checked > 5000);
}

TEST_CASE("Attention: causal FLOPs and MLA cache bytes worked by hand", "[model][operators]") {
  // Prefill, causal, 1 sequence of 4 tokens, 1 head, d=2: pairs 1+2+3+4 = 10, FLOPs 2*10*(2+2).
  Attention a = Attention::gqa(Attention::Phase::prefill, 1, 4, 4, 1, 1, 2);
  CHECK(model::estimate(h100(), a).flops.value() == 80.0);
  a.causal = false;
  CHECK(model::estimate(h100(), a).flops.value() == 2.0 * 16 * 4);
  // Decode with 3 cached + 2 new tokens: query 1 sees 4 keys, query 2 sees 5.
  Attention d = Attention::gqa(Attention::Phase::decode, 1, 2, 5, 1, 1, 2);
  CHECK(model::estimate(h100(), d).flops.value() == 2.0 * 9 * 4);
  // Absorbed MLA: one latent of 576 bf16 values per token is the whole cache.
  const Attention mla = Attention::mla(Attention::Phase::decode, 1, 1, 1000, 128);
  const auto e = model::estimate(h100(), mla);
  const double cache = 1000.0 * 576 * 2, q = 128.0 * 576 * 2, o = 128.0 * 512 * 2;
  CHECK(e.hbm_bytes.value() == Approx(cache + q + o));
}

TEST_CASE("Attention: GQA reads fewer KV bytes than MHA at equal FLOPs", "[model][operators]") {
  const auto mha = model::estimate(h100(), Attention::gqa(Attention::Phase::decode, 32, 1, 8192, 64, 64, 128));
  const auto gqa = model::estimate(h100(), Attention::gqa(Attention::Phase::decode, 32, 1, 8192, 64, 8, 128));
  CHECK(mha.flops.value() == gqa.flops.value());
  CHECK(gqa.hbm_bytes.value() < mha.hbm_bytes.value() / 7.0);
  CHECK(gqa.time.value() < mha.time.value());
}

TEST_CASE("Bad input names the parameter", "[model][operators][errors]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(model::estimate(h100(), Gemm::of(0, 8, 8)), Contains("gemm: m must be a positive integer, got 0"));
  CHECK_THROWS_WITH(model::estimate(h100(), Gemm::of(8, -3, 8)), Contains("n must be a positive"));
  CHECK_THROWS_WITH(model::estimate(h100(), Gemm::of(8, 8, 8, P::bf16, 0)), Contains("batch"));
  constexpr std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 4;
  CHECK_THROWS_WITH(model::estimate(h100(), Gemm::of(huge, huge, 8)), Contains("overflows a 64-bit count"));
  CHECK_THROWS_WITH(model::estimate(ascend910b(), Gemm::of(8, 8, 8, P::fp8)),
                    Contains("precision") && Contains("fp8") && Contains("huawei-ascend-910b"));
  Attention a = Attention::gqa(Attention::Phase::prefill, 1, 10, 5, 8, 8, 64);
  CHECK_THROWS_WITH(model::estimate(h100(), a), Contains("q_len (10) must not exceed kv_len (5)"));
  a = Attention::gqa(Attention::Phase::prefill, 1, 5, 5, 8, 3, 64);
  CHECK_THROWS_WITH(model::estimate(h100(), a), Contains("multiple of kv_heads"));
  CHECK_THROWS_WITH(model::estimate(h100(), Elementwise{Elementwise::Kind::add, 0, P::bf16}), Contains("elements"));
  CHECK_THROWS_WITH(workload::embedding(huge, huge), Contains("tokens × hidden overflows"));
  CHECK_THROWS_WITH(workload::elementwise_kind_from_string("gelu"), Contains("expected one of copy"));
  CHECK_THROWS_WITH(Device::from_catalog(catalog::Catalog::builtin(), "iluvatar-bi150"),
                    Contains("memory.main.bandwidth is unknown"));
  CHECK_THROWS_AS(Device::from_catalog(catalog::Catalog::builtin(), "no-such-chip"), NotFound);
  std::vector<Gemm> ops{Gemm::of(8, 8, 8), Gemm::of(8, 0, 8)};
  std::vector<model::OpEstimate> out(2);
  CHECK_THROWS_WITH(model::estimate(h100(), ops, out), Contains("ops[1]: gemm: n must be"));
}

TEST_CASE("Attention: prefill runs at the family's flash-attention fraction, decode at its decode one", "[model][operators]") {
  // A compute-bound prefill (8K causal, 32 heads of 128) and a compute-bound absorbed MLA decode
  // (128 heads on a 4K latent cache). DaVinci measured its flash attention apart (0.40 of the cube
  // peak against the MLA decode kernel's 0.654): prefill time follows attention_prefill, decode
  // keeps attention. Hopper gives no separate figure, so both phases share one fraction.
  const Attention prefill = Attention::gqa(Attention::Phase::prefill, 4, 8192, 8192, 32, 8, 128);
  const Attention decode = Attention::mla(Attention::Phase::decode, 96, 1, 4096, 128);
  const auto& f = ascend910b().fractions();
  CHECK(f.attention_prefill == Approx(0.40));
  CHECK(f.attention == Approx(0.654));
  const double peak = ascend910b().matrix_rate(P::bf16);
  const auto p = model::estimate(ascend910b(), prefill);
  REQUIRE(p.bound == Bound::compute);
  CHECK(p.compute_time.value() == Approx(p.flops.value() / (peak * 0.40)).epsilon(0.02));
  const auto d = model::estimate(ascend910b(), decode);
  REQUIRE(d.bound == Bound::compute);
  CHECK(d.compute_time.value() == Approx(d.flops.value() / (peak * 0.654)).epsilon(0.02));
  CHECK(h100().fractions().attention_prefill == h100().fractions().attention);
}

TEST_CASE("Attention: MLA decode pads its query rows to the family kernel's tile", "[model][operators]") {
  // Absorbed MLA decode, batch 64 on an 8K latent cache. Hopper's kernel (FlashMLA) tiles query
  // rows by 64: 16 heads (DeepSeek under TP8) cost the matrix time of 64, 128 heads twice that.
  // Useful FLOPs and bytes are unchanged. (Compute time also holds Hopper's query load and
  // output store, which grow with the heads: hence the 3 % tolerance.)
  const auto compute = [&](int heads) {
    return model::estimate(h100(), Attention::mla(Attention::Phase::decode, 64, 1, 8192, heads)).compute_time.value();
  };
  CHECK(h100().fractions().mla_decode_rows == 64.0);
  CHECK(compute(16) == Approx(compute(64)).epsilon(0.03));
  CHECK(compute(128) == Approx(2.0 * compute(64)).epsilon(0.03));
  const auto d16 = model::estimate(h100(), Attention::mla(Attention::Phase::decode, 64, 1, 8192, 16));
  const auto d128 = model::estimate(h100(), Attention::mla(Attention::Phase::decode, 64, 1, 8192, 128));
  CHECK(d16.flops.value() == Approx(d128.flops.value() / 8.0));
  // Two draft tokens per sequence fill 32 of the 64 rows with 16 heads: same padded time.
  CHECK(model::estimate(h100(), Attention::mla(Attention::Phase::decode, 64, 2, 8192, 16)).compute_time.value() ==
        Approx(compute(16)).epsilon(0.03));
  // DaVinci's figure is absent: no padding.
  CHECK(ascend910b().fractions().mla_decode_rows == 1.0);
}

TEST_CASE("Attention: an MLA decode kernel streams its cache at the family's measured rate", "[model][operators]") {
  // Blackwell's CUTLASS MLA decode (SGLang PR #6929) streamed ~4.1 TB/s of 8 TB/s at KV 2048 to
  // 8192: mla_decode_memory 0.516. Memory-bound there, its time follows the bytes at that rate;
  // other kernels (and families without the figure) stream at the family's memory fraction.
  const Device b200 = Device::from_catalog(catalog::Catalog::builtin(), "nvidia-b200");
  const double bw = b200.memory_bandwidth().value();
  CHECK(b200.fractions().mla_decode_memory == Approx(0.516));
  const auto mla = model::estimate(b200, Attention::mla(Attention::Phase::decode, 256, 1, 2048, 128));
  REQUIRE(mla.bound == Bound::memory);
  CHECK(mla.memory_time.value() == Approx(mla.hbm_bytes.value() / (bw * 0.516)));
  // The same bytes in a GQA decode kernel: the streaming fraction.
  const auto gqa = model::estimate(b200, Attention::gqa(Attention::Phase::decode, 256, 1, 2048, 64, 8, 128));
  CHECK(gqa.memory_time.value() == Approx(gqa.hbm_bytes.value() / (bw * b200.fractions().memory)));
  // 2048 more cached tokens per sequence add their BF16 latents (576 values) at that rate.
  const auto mla2 = model::estimate(b200, Attention::mla(Attention::Phase::decode, 256, 1, 4096, 128));
  CHECK(mla2.memory_time.value() - mla.memory_time.value() == Approx(256.0 * 2048 * 576 * 2 / (bw * 0.516)));
  CHECK(h100().fractions().mla_decode_memory == h100().fractions().memory);
}

TEST_CASE("GEMM: a deeper K is never faster (split-K pads K to the next 256)", "[model][operators]") {
  // 128 x 128 output tiles leave most SMs idle, so K is split across them in chunks of >= 256:
  // 511 deep ran as one chunk (32 us on an A100 in FP32) where 512 ran as two (18 us).
  const Device a100 = Device::from_catalog(catalog::Catalog::builtin(), "nvidia-a100-sxm-80gb");
  for (const P p : {P::fp32, P::bf16}) {
    double prev = 0;
    for (std::int64_t k = 64; k <= 8192; k += 1) {
      const double t = model::estimate(a100, Gemm::of(128, 128, k, p)).time.value();
      REQUIRE(t >= prev);
      prev = t;
    }
  }
  CHECK(model::estimate(a100, Gemm::of(128, 128, 511, P::fp32)).time.value() ==
        Approx(model::estimate(a100, Gemm::of(128, 128, 512, P::fp32)).time.value()));
}

TEST_CASE("GEMM: below the smallest tile a library GEMM swaps A and B", "[model][operators]") {
  // An H20 (148 BF16 TFLOP/s, 4 TB/s) decoding one token through an 8192 x 8192 weight: padded
  // to a 64-row tile it would be compute bound (~104 us); swapped, the token takes wgmma's N side,
  // padded to 8 rows, and the GEMM is a weight read (~42 us).
  const Device h20 = Device::from_catalog(catalog::Catalog::builtin(), "nvidia-h20");
  CHECK(h20.fractions().swap_ab_rows == 8.0);
  const auto one = model::estimate(h20, Gemm::of(1, 8192, 8192, P::bf16));
  CHECK(one.bound == Bound::memory);
  CHECK(one.tile_m == 8);
  CHECK(one.time.value() == Approx(one.memory_time.value() + one.overhead.value()));
  // The switch to compute bound comes near the ridge m, not at m = 1.
  CHECK(model::estimate(h20, Gemm::of(16, 8192, 8192, P::bf16)).bound == Bound::memory);
  CHECK(model::estimate(h20, Gemm::of(48, 8192, 8192, P::bf16)).bound == Bound::compute);
  // Grouped (MoE) GEMMs keep their row tiles: one row per group costs a 64-row tile's compute.
  const auto grouped = model::estimate(h20, Gemm::grouped_experts(1, 8192, 8192, P::bf16, 4));
  CHECK(grouped.tile_m == 64);
  CHECK(grouped.bound == Bound::compute);
  // A strided batched library GEMM swaps per batch element: 4 of them cost 4 weight reads (the
  // 64-row padding made batch 2 cost 4.8x batch 1).
  const auto batched = model::estimate(h20, Gemm::of(1, 8192, 8192, P::bf16, 4));
  CHECK(batched.tile_m == 8);
  CHECK(batched.time.value() - batched.overhead.value() ==
        Approx(4.0 * (one.time.value() - one.overhead.value())).epsilon(1e-9));
  // Families without the figure pad to their smallest tile, as before.
  CHECK(ascend910b().fractions().swap_ab_rows == 0.0);
  CHECK(model::estimate(ascend910b(), Gemm::of(1, 8192, 8192, P::bf16)).tile_m >= 64);
}

TEST_CASE("A chip built in code is checked as the catalog loader checks one", "[model][operators]") {
  hw::Chip c = h100().chip();
  const auto& bf16 = c.compute[static_cast<std::size_t>(P::bf16)].matrix;
  c.compute[static_cast<std::size_t>(P::bf16)].matrix = hw::Figure<FlopRate>::known_value(FlopRate{-989e12}, bf16.provenance(), bf16.field());
  CHECK_THROWS_WITH(Device(c, h100().policy()), Catch::Contains("compute.bf16 peak must be a positive, finite rate"));
  // A zero vector peak gave elementwise times of 0/0 = NaN. FP32's is also its GEMM rate (no
  // matrix units), checked as such; with FP32 unknown, elementwise work takes the BF16 vector rate.
  c = h100().chip();
  auto& f32 = c.compute[static_cast<std::size_t>(P::fp32)].vector;
  f32 = hw::Figure<FlopRate>::known_value(FlopRate{0.0}, f32.provenance(), f32.field());
  CHECK_THROWS_WITH(Device(c, h100().policy()), Catch::Contains("compute.fp32 peak must be a positive, finite rate"));
  f32 = hw::Figure<FlopRate>::unknown("what-if");
  auto& b16 = c.compute[static_cast<std::size_t>(P::bf16)].vector;
  b16 = hw::Figure<FlopRate>::known_value(FlopRate{0.0}, b16.provenance(), b16.field());
  CHECK_THROWS_WITH(Device(c, h100().policy()), Catch::Contains("compute.bf16.vector peak must be a positive, finite rate"));
  // Sums of sizes are bounded before they can overflow (q_len + 1, the two head dims).
  Attention a = Attention::gqa(Attention::Phase::prefill, 1, 8, 8, 8, 8, 64);
  a.head_dim_qk = a.head_dim_v = std::numeric_limits<std::int64_t>::max();
  CHECK_THROWS_WITH(model::estimate(h100(), a), Catch::Contains("attention: head_dim_qk: must be <= 2^40"));
  a = Attention::gqa(Attention::Phase::prefill, 1, std::numeric_limits<std::int64_t>::max(),
                     std::numeric_limits<std::int64_t>::max(), 8, 8, 64);
  CHECK_THROWS_WITH(model::estimate(h100(), a), Catch::Contains("attention: q_len: must be <= 2^40"));
}

TEST_CASE("Efficiency policies come from the catalog, with a default fallback", "[model][catalog]") {
  const auto& cat = catalog::Catalog::builtin();
  CHECK(cat.efficiency("nvidia-hopper").id == "nvidia-hopper");
  CHECK(cat.efficiency("cambricon-mlu").id == "default");
  CHECK(h100().policy().id == "nvidia-hopper");
  CHECK(h100().compute_units() == 132);
  // A user override changes the estimate and nothing else.
  hw::EfficiencyPolicy pol = h100().policy();
  pol.memory = hw::Figure<double>::known_value(0.5, {"test", hw::Confidence::derived, "override", ""});
  const Device slow(h100().chip(), pol);
  const Elementwise op{Elementwise::Kind::copy, 1LL << 30, P::bf16};
  CHECK(model::estimate(slow, op).memory_time.value() ==
        Approx(model::estimate(h100(), op).memory_time.value() * h100().fractions().memory / 0.5));
}

TEST_CASE("Roofline: ceilings, ridge points and attainable performance", "[model][roofline]") {
  const auto r = model::roofline(h100(), P::bf16);
  REQUIRE(r.compute.front().rate.value() == Approx(989.4e12));
  REQUIRE(r.memory.front().bandwidth.value() == Approx(3.35e12));
  CHECK(r.memory.front().ridge.value() == Approx(989.4e12 / 3.35e12));
  CHECK(r.attainable(ArithmeticIntensity{1.0}).value() == Approx(3.35e12));
  CHECK(r.attainable(ArithmeticIntensity{1e6}).value() == Approx(989.4e12));
  const double achievable_top = r.attainable(ArithmeticIntensity{1e6}, true).value();
  CHECK(achievable_top == Approx(989.4e12 * h100().fractions().matrix));
  // Every estimate stays under the peak roofline at its intensity.
  for (std::int64_t m : {1, 16, 256, 4096, 32768}) {
    const auto e = model::estimate(h100(), Gemm::of(m, 8192, 8192, P::bf16));
    CHECK(e.achieved.value() <= r.attainable(e.intensity).value() * 1.0000001);
  }
  CHECK_THROWS_WITH(model::roofline(ascend910b(), P::fp8), Catch::Matchers::Contains("fp8"));
}

TEST_CASE("Benchmark: one GEMM estimate vs a baseline FLOP count", "[!benchmark][operators]") {
  std::vector<Gemm> ops;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::int64_t> dim(1, 16384);
  for (int i = 0; i < 1024; ++i) ops.push_back(Gemm::of(dim(rng), dim(rng), dim(rng), P::bf16));
  const Device& d = h100();
  BENCHMARK("baseline: 2*m*n*k of 1024 shapes") {
    double s = 0;
    for (const auto& g : ops) s += 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
    return s;
  };
  BENCHMARK("estimate: 1024 GEMMs") {
    double s = 0;
    for (const auto& g : ops) s += model::estimate(d, g).time.value();
    return s;
  };
  BENCHMARK("estimate: 1024 attention decode steps") {
    double s = 0;
    for (const auto& g : ops) {
      s += model::estimate(d, Attention::gqa(Attention::Phase::decode, 1 + g.m % 128, 1, g.k, 64, 8, 128)).time.value();
    }
    return s;
  };
}

TEST_CASE("GEMM: the training triple equals three separate estimates", "[model][gemm]") {
  for (const auto& [m, n, k, b] : std::vector<std::array<std::int64_t, 4>>{
           {8192, 1280, 16384, 1}, {1, 7168, 2048, 1}, {4096, 512, 7168, 32}, {300, 5, 77, 3}}) {
    const Gemm fwd = Gemm::of(m, n, k, P::bf16, b);
    const auto t = model::estimate_training_gemms(h100(), fwd);
    const auto f = model::estimate(h100(), fwd);
    const auto di = model::estimate(h100(), Gemm::of(m, k, n, P::bf16, b));
    const auto dw = model::estimate(h100(), Gemm{k, n, m, b, P::bf16, P::fp32, Gemm::Kernel::library, true});
    CHECK(t.forward.time.value() == f.time.value());
    CHECK(t.input_grad.time.value() == di.time.value());
    CHECK(t.weight_grad.time.value() == dw.time.value());
    CHECK(t.weight_grad.tile_m == dw.tile_m);
    CHECK(t.input_grad.flops.value() == f.flops.value());
  }
  CHECK_THROWS_WITH(model::estimate_training_gemms(h100(), Gemm::of(0, 8, 8)), Catch::Contains("m must be a positive"));
  CHECK_THROWS_WITH(model::estimate_training_gemms(h100(), Gemm::of(8, 8, 8, P::fp4)), Catch::Contains("precision"));
}

TEST_CASE("Device names the figure it lacks, also in a what-if chip built in code", "[model][operators]") {
  // A Figure made with Figure::unknown() carries no JSON path; the message said "figure is unknown".
  const auto& cat = catalog::Catalog::builtin();
  hw::Chip chip = cat.chip("nvidia-h20");
  chip.main_memory.bandwidth = hw::Figure<Bandwidth>::unknown("what-if: not measured");
  CHECK_THROWS_WITH(model::Device(chip, cat.efficiency(chip.family)),
                    Catch::Contains("nvidia-h20: memory.main.bandwidth is unknown (what-if: not measured)"));
  chip = cat.chip("nvidia-h20");
  chip.compute[static_cast<std::size_t>(hw::Precision::bf16)].matrix = hw::Figure<FlopRate>::unknown("what-if");
  CHECK_THROWS_WITH(chip.peak(hw::Precision::bf16), Catch::Contains("nvidia-h20: compute.bf16.matrix is unknown"));
  CHECK_THROWS_WITH(chip.units(static_cast<hw::Precision>(9)), Catch::Contains("not a hw::Precision value (9)"));
  const auto dev = model::Device::from_catalog(cat, "nvidia-h100-sxm");
  CHECK_FALSE(dev.supports(static_cast<hw::Precision>(9)));
  workload::Elementwise e{workload::Elementwise::Kind::add, 1024, static_cast<hw::Precision>(9)};
  CHECK_THROWS_WITH(model::estimate(dev, e), Catch::Contains("elementwise: dtype: not a hw::Precision value (9)"));
  e = workload::Elementwise{static_cast<workload::Elementwise::Kind>(100000), 1024, hw::Precision::bf16};
  CHECK_THROWS_WITH(model::estimate(dev, e), Catch::Contains("elementwise: kind: not a Elementwise::Kind value"));
}
