// Operator estimates, the prepared Device and the hierarchical roofline.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include <libperfmodel/detail/enum_check.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/roofline.hpp>
#include <libperfmodel/workload/ops.hpp>

namespace perfmodel {

namespace workload {
namespace {
constexpr std::array<std::string_view, 12> kElementwiseNames{
    "copy", "scale", "add", "triad", "exp", "activation", "gated", "softmax", "rmsnorm", "layernorm", "rope",
    "cast_transpose"};
constexpr std::array<std::string_view, 4> kVariantNames{"mha", "gqa", "mqa", "mla"};
}  // namespace

std::string_view to_string(Elementwise::Kind k) { return detail::enum_name(k, kElementwiseNames); }
std::string_view to_string(Attention::Variant v) { return detail::enum_name(v, kVariantNames); }

Elementwise::Kind elementwise_kind_from_string(std::string_view s) {
  std::string all;
  for (std::size_t i = 0; i < kElementwiseNames.size(); ++i) {
    if (kElementwiseNames[i] == s) return static_cast<Elementwise::Kind>(i);
    all += (i ? ", " : "") + std::string(kElementwiseNames[i]);
  }
  throw InvalidArgument("elementwise kind: got '" + std::string(s) + "', expected one of " + all);
}

Elementwise embedding(std::int64_t tokens, std::int64_t hidden, Precision dtype) {
  if (tokens <= 0) throw InvalidArgument("embedding: tokens must be positive, got " + std::to_string(tokens));
  if (hidden <= 0) throw InvalidArgument("embedding: hidden must be positive, got " + std::to_string(hidden));
  std::int64_t n = 0;
  if (__builtin_mul_overflow(tokens, hidden, &n)) {
    throw InvalidArgument("embedding: tokens × hidden overflows a 64-bit count (tokens=" + std::to_string(tokens) +
                          ", hidden=" + std::to_string(hidden) + ")");
  }
  return Elementwise{Elementwise::Kind::copy, n, dtype};
}
}  // namespace workload

namespace model {

using hw::Precision;
using workload::Attention;
using workload::Elementwise;
using workload::Gemm;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::int64_t positive(std::int64_t v, const char* op, const char* name) {
  if (v <= 0) throw InvalidArgument(std::string(op) + ": " + name + " must be a positive integer, got " + std::to_string(v));
  return v;
}

/// a·b·c·d in int64; throws naming the product when it does not fit.
[[gnu::always_inline]] inline std::int64_t product(const char* op, const char* what,
                                                   std::initializer_list<std::int64_t> xs) {
  // Fast path: a double product below 2^62 (relative error ~1e-16) means the exact one fits.
  double approx = 1.0;
  for (std::int64_t x : xs) approx *= static_cast<double>(x);
  if (std::fabs(approx) < 4.0e18) {
    std::int64_t r = 1;
    for (std::int64_t x : xs) r *= x;
    return r;
  }
  std::int64_t r = 1;
  for (std::int64_t x : xs) {
    if (__builtin_mul_overflow(r, x, &r)) {
      throw InvalidArgument(std::string(op) + ": " + what + " overflows a 64-bit count; reduce the dimensions");
    }
  }
  return r;
}

[[noreturn]] void unsupported(const Device& dev, Precision p, const char* op) {
  try {
    (void)dev.matrix_peak(p);
  } catch (const Error& e) {
    throw InvalidArgument(std::string(op) + ": precision: " + e.what());
  }
  throw InvalidArgument(std::string(op) + ": precision " + std::string(hw::to_string(p)) + " is not usable on " + dev.chip().id);
}

OpEstimate finish(double compute_s, double memory_s, double overhead_s, double flops, double bytes, double peak) {
  const double busy = std::max(compute_s, memory_s);
  // Assumption: the fixed overhead does not overlap the kernel's own work (pipeline fill and
  // drain happen once per launch); it is what makes tiny ops latency bound.
  const double t = busy + overhead_s;
  // Every field written once (a default-constructed OpEstimate would be zeroed first).
  return OpEstimate{.time = Seconds{t},
                    .compute_time = Seconds{compute_s},
                    .memory_time = Seconds{memory_s},
                    .overhead = Seconds{overhead_s},
                    .flops = Flops{flops},
                    .hbm_bytes = Bytes{bytes},
                    .onchip_bytes = Bytes{0.0},
                    .intensity = ArithmeticIntensity{bytes > 0 ? flops / bytes : 0.0},
                    .achieved = FlopRate{flops / t},
                    .achieved_bandwidth = Bandwidth{bytes / t},
                    .peak = FlopRate{peak},
                    .fraction_of_peak = peak > 0 ? flops / t / peak : 0.0,
                    .wave_efficiency = 1.0,
                    .tile_m = 0,
                    .tile_n = 0,
                    .bound = overhead_s > busy         ? Bound::latency
                             : compute_s >= memory_s ? Bound::compute
                                                     : Bound::memory};
}

struct TilePlan {
  double compute_s = 0;
  double scheduled_flops = 0;
  int tm = 0, tn = 0;
  double tiles_m = 0, tiles_n = 0;
};

/// floor for 0 <= x < 2^63 by truncation: one instruction, where std::floor is a libm call on
/// baseline x86-64 (no SSE4.1 round).
inline double floor_pos(double x) { return static_cast<double>(static_cast<std::int64_t>(x)); }

/// ceil(x / d) for x, d >= 1 given inv = 1/d; the product is corrected for rounding.
inline double ceil_div(double x, double d, double inv) {
  double q = floor_pos(x * inv);
  if (q * d < x) q += 1.0;
  return q;
}

// Library GEMM compute time. Each output tile (tm×tn, over all of K) runs on one compute unit;
// tiles run in waves of `units`. When there are fewer tiles than units the library splits K
// (split-K / stream-K) into chunks of at least 256 to occupy idle units. The library picks the
// tile shape with the shortest time; ties keep the earlier (larger) shape.
TilePlan plan_tiles(const Device& dev, const Gemm& op, double rate) {
  const double u = dev.units_f(), inv_u = dev.inv_units();
  const double m = static_cast<double>(op.m), n = static_cast<double>(op.n), k = static_cast<double>(op.k);
  const double batch = static_cast<double>(op.batch);
  const double k_chunks = floor_pos(k * (1.0 / 256.0));
  const double k_padded = std::ceil(k * (1.0 / 256.0)) * 256.0;
  // Work scheduled for `tiles` output tiles of `area` elements each. Fewer tiles than units: one
  // wave of K-chunks (at least 256 deep) on every unit, the deepest chunk setting the time; a
  // kernel may zero-pad K to the next 256 to split once more (511 runs as 2 x 256, not 1 x 511),
  // so a deeper K is never scheduled faster.
  auto schedule = [&](double tiles, double area) {
    if (u <= 0.0) return tiles * 2.0 * area * k;  // unknown unit count: padding only, no wave quantization
    if (tiles >= u) return ceil_div(tiles, u, inv_u) * u * 2.0 * area * k;
    const double by_units = floor_pos(u / tiles);
    const double exact = u * 2.0 * area * k / std::max(1.0, std::min(by_units, k_chunks));
    const double padded = u * 2.0 * area * k_padded / std::max(1.0, std::min(by_units, k_padded * (1.0 / 256.0)));
    return std::min(exact, padded);
  };
  TilePlan best;
  double best_scheduled = std::numeric_limits<double>::infinity();
  for (const auto& s : dev.tiles()) {
    const double tiles_m = ceil_div(m, s.m, s.inv_m);
    const double tiles_n = ceil_div(n, s.n, s.inv_n);
    const double scheduled = schedule(tiles_m * tiles_n * batch, s.m * s.n);
    if (scheduled < best_scheduled) {
      best_scheduled = scheduled;
      best = TilePlan{0.0, scheduled, static_cast<int>(s.m), static_cast<int>(s.n), tiles_m, tiles_n};
    }
  }
  // Fewer rows than the smallest tile: a library GEMM (batched too, per batch element) swaps A
  // and B, so the rows take the narrow side of the instruction (padded to swap_ab_rows) and N is
  // tiled by the tile's long side. Assumption: grouped (MoE) GEMMs keep their row tiles
  // (DeepGEMM's masked layout pads to 64).
  const double r = dev.fractions().swap_ab_rows;
  double smallest = std::numeric_limits<double>::infinity();
  for (const auto& s : dev.tiles()) smallest = std::min(smallest, s.m);
  if (r > 0.0 && op.kernel != Gemm::Kernel::grouped && m < smallest) {
    const double rows = std::ceil(m / r) * r;
    for (const auto& s : dev.tiles()) {
      const double tiles_n = ceil_div(n, s.m, s.inv_m);
      const double scheduled = schedule(tiles_n * batch, rows * s.m);
      if (scheduled < best_scheduled) {
        best_scheduled = scheduled;
        best = TilePlan{0.0, scheduled, static_cast<int>(rows), static_cast<int>(s.m), 1.0, tiles_n};
      }
    }
  }
  best.compute_s = best_scheduled / rate;
  return best;
}

}  // namespace

std::string_view to_string(Bound b) {
  switch (b) {
    case Bound::compute: return "compute";
    case Bound::memory: return "memory";
    case Bound::latency: return "latency";
  }
  return "?";
}

// --- Device ------------------------------------------------------------------------------

namespace {
template <class T>
void divide(hw::Figure<T>& f, double k) {
  if (f.known()) f = hw::Figure<T>::known_value(f.require("") / k, f.provenance(), f.field());
}
}  // namespace

hw::Chip per_rank_chip(hw::Chip c, int ranks_per_chip) {
  if (ranks_per_chip < 1 || ranks_per_chip > 64) throw InvalidArgument("ranks_per_chip: must be in [1, 64], got " + std::to_string(ranks_per_chip));
  if (ranks_per_chip == 1) return c;
  const double k = ranks_per_chip;
  for (auto& u : c.compute) {
    divide(u.matrix, k);
    divide(u.vector, k);
  }
  divide(c.main_memory.capacity, k);
  divide(c.main_memory.usable_capacity, k);
  divide(c.main_memory.bandwidth, k);
  divide(c.compute_units, k);
  return c;
}

Device::Device(hw::Chip chip, hw::EfficiencyPolicy policy) : chip_(std::move(chip)), policy_(std::move(policy)) {
  const std::string where = chip_.id + " with efficiency policy '" + policy_.id + "'";
  fractions_.matrix = policy_.matrix.require(policy_.id, "matrix");
  fractions_.matrix_microbenchmark = policy_.matrix_microbenchmark.value_or(fractions_.matrix);
  fractions_.attention = policy_.attention.value_or(fractions_.matrix);
  fractions_.attention_prefill = policy_.attention_prefill.value_or(fractions_.attention);
  // Assumption when a policy lacks it: the attention backward runs at its forward's FLOP rate.
  fractions_.attention_backward = policy_.attention_backward.value_or(1.0);
  // Assumption when a policy lacks it: elementwise math reaches 0.6 of the vector peak.
  fractions_.vector = policy_.vector.value_or(0.6);
  fractions_.memory = policy_.memory.require(policy_.id, "memory");
  fractions_.launch_overhead_s = policy_.launch_overhead.require(policy_.id, "launch_overhead").value();
  fractions_.fused_mla_prologue = policy_.fused_mla_prologue.value_or(false);
  fractions_.epilogue_overlap = policy_.epilogue_overlap.value_or(true);
  fractions_.mla_decode_rows = policy_.mla_decode_rows.value_or(1.0);
  fractions_.mla_decode_memory = policy_.mla_decode_memory.value_or(fractions_.memory);
  fractions_.swap_ab_rows = policy_.swap_ab_rows.value_or(0.0);
  if (!(fractions_.swap_ab_rows >= 0.0 && fractions_.swap_ab_rows <= 256.0)) {
    throw InvalidArgument(where + ": swap_ab_rows must lie in [0, 256] (0: no swap-AB path), got " +
                          std::to_string(fractions_.swap_ab_rows));
  }
  if (!(fractions_.mla_decode_rows >= 1.0 && fractions_.mla_decode_rows <= 4096.0)) {
    throw InvalidArgument(where + ": mla_decode_rows must lie in [1, 4096], got " + std::to_string(fractions_.mla_decode_rows));
  }
  for (double f : {fractions_.matrix, fractions_.matrix_microbenchmark, fractions_.attention,
                   fractions_.attention_prefill, fractions_.attention_backward, fractions_.vector, fractions_.memory,
                   fractions_.mla_decode_memory}) {
    if (!(f > 0.0 && f <= 1.2)) throw InvalidArgument(where + ": efficiency fractions must lie in (0, 1.2], got " + std::to_string(f));
  }
  if (!(fractions_.launch_overhead_s >= 0.0 && std::isfinite(fractions_.launch_overhead_s))) {
    throw InvalidArgument(where + ": launch_overhead must be a finite time >= 0");
  }
  if (policy_.tile_shapes.empty()) throw InvalidArgument(where + ": tile_shapes must not be empty");
  for (const auto& t : policy_.tile_shapes) {
    if (t.m <= 0 || t.n <= 0) throw InvalidArgument(where + ": tile_shapes entries must be positive");
  }
  hbm_bw_ = chip_.main_memory.bandwidth.require(chip_.id, "memory.main.bandwidth").value();
  if (!(hbm_bw_ > 0.0 && std::isfinite(hbm_bw_))) throw InvalidArgument(chip_.id + ": memory.main.bandwidth must be positive and finite");
  for (Precision p : hw::kAllPrecisions) {
    const auto& u = chip_.units(p);
    const auto idx = static_cast<std::size_t>(p);
    matrix_[idx] = u.gemm().known() ? u.gemm().value_or(FlopRate{}).value() : kNaN;
    // The catalog loader rejects these; a chip built in code is checked here.
    if (!std::isnan(matrix_[idx]) && !(matrix_[idx] > 0.0 && std::isfinite(matrix_[idx]))) {
      throw InvalidArgument(chip_.id + ": compute." + std::string(hw::to_string(p)) + " peak must be a positive, finite rate");
    }
  }
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::fp16}) {
    if (chip_.units(p).vector.known()) {
      vector_ = chip_.units(p).vector.value_or(FlopRate{});
      // As for the matrix peaks: elementwise time divides by it (0 gave 0/0 = NaN).
      if (!(vector_->value() > 0.0 && std::isfinite(vector_->value()))) {
        throw InvalidArgument(chip_.id + ": compute." + std::string(hw::to_string(p)) + ".vector peak must be a positive, finite rate");
      }
      break;
    }
  }
  if (chip_.compute_units.known()) {
    const double n = chip_.compute_units.value_or(0.0);
    if (n > 1e8) {  // what a catalog file may give; an int must hold it (1e12 wrapped negative)
      throw InvalidArgument(where + ": compute_units: " + std::to_string(n) + " exceeds the supported 1e8");
    }
    if (n >= 1.0) {
      units_ = static_cast<int>(n);
      units_f_ = static_cast<double>(*units_);
      inv_units_ = 1.0 / units_f_;
    }
  }
  for (const auto& t : policy_.tile_shapes) {
    tiles_.push_back({static_cast<double>(t.m), static_cast<double>(t.n), 1.0 / t.m, 1.0 / t.n});
  }
}

Device Device::from_catalog(const catalog::Catalog& cat, std::string_view id_or_alias) {
  const hw::Chip& c = cat.chip(id_or_alias);
  return Device(c, cat.efficiency(c.family));
}

FlopRate Device::matrix_peak(Precision p) const {
  return chip_.peak(p);  // throws "has no fp8 support" or "... is unknown (note)"
}

bool Device::supports(Precision p) const { return hw::is_valid(p) && !std::isnan(matrix_rate(p)); }

// --- GEMM --------------------------------------------------------------------------------

namespace {

/// Validates a GEMM (dimensions, 64-bit counts, precision) and returns the matrix peak.
double check_gemm(const Device& dev, const Gemm& op) {
  constexpr const char* kOp = "gemm";
  positive(op.m, kOp, "m");
  positive(op.n, kOp, "n");
  positive(op.k, kOp, "k");
  positive(op.batch, kOp, "batch");
  product(kOp, "2·m·n·k·batch", {2, op.m, op.n, op.k, op.batch});
  product(kOp, "m·n·batch", {op.m, op.n, op.batch});  // output elements; m·k and k·n are <= mnk
  detail::check_enum(op.kernel, Gemm::Kernel::library, Gemm::Kernel::grouped, "gemm: kernel", "Gemm::Kernel");
  for (const auto& [p, f] : {std::pair{op.input, "input"}, {op.output, "output"}}) {
    if (!hw::is_valid(p)) throw InvalidArgument(std::string("gemm: ") + f + ": not a hw::Precision value (" + std::to_string(static_cast<int>(p)) + ")");
  }
  const double peak = dev.matrix_rate(op.input);
  if (std::isnan(peak)) unsupported(dev, op.input, kOp);
  // A narrow output format (fp8, fp4, int8, int4) is written by the chip's own conversion: it must
  // have the format at all (an A100 cannot write fp8); wider ones are stored anywhere.
  if (workload::bytes_per_element(op.output) < 2.0 && !dev.chip().units(op.output).supported()) {
    throw InvalidArgument(std::string(kOp) + ": output: " + dev.chip().id + " has no " + std::string(hw::to_string(op.output)) +
                          " support in the catalog (compute." + std::string(hw::to_string(op.output)) +
                          " is absent), so it cannot write that format");
  }
  return peak;
}

/// estimate() for a GEMM that check_gemm() accepted; any permutation of m, n, k is accepted too
/// (k·n and m·k output elements are <= the FLOP count).
OpEstimate estimate_checked(const Device& dev, const Gemm& op, double peak) {
  const double m = static_cast<double>(op.m), n = static_cast<double>(op.n), k = static_cast<double>(op.k);
  const double batch = static_cast<double>(op.batch);
  const double flops = 2.0 * m * n * k * batch;
  const double b_in = workload::bytes_per_element(op.input);
  const double b_out = workload::bytes_per_element(op.output);
  const auto& f = dev.fractions();
  if (op.kernel == Gemm::Kernel::microbenchmark) {
    // Operands stay in on-chip buffers: no HBM traffic, no tiling losses.
    OpEstimate e = finish(flops / (peak * f.matrix_microbenchmark), 0.0, f.launch_overhead_s, flops, 0.0, peak);
    e.onchip_bytes = Bytes{batch * (m * k + k * n) * b_in};
    return e;
  }
  const double rate = peak * f.matrix;
  const TilePlan plan = plan_tiles(dev, op, rate);
  // Assumption: HBM traffic is the minimum (A and B read once, C written once); the L2 catches
  // the re-reads between tiles. Those re-reads are reported as on-chip bytes.
  const double c_bytes = batch * m * n * b_out * (op.accumulate ? 2.0 : 1.0);  // C += A·B also reads C
  const double bytes = batch * (m * k + k * n) * b_in + c_bytes;
  const double bw = dev.hbm_bandwidth() * f.memory;
  // Assumption: where the family's epilogue does not overlap (accumulators in registers), each
  // tile stores its output after its main loop while the matrix units wait: the output bytes at
  // HBM bandwidth add to the compute time (a memory-bound GEMM is unchanged).
  const double store_s = f.epilogue_overlap ? 0.0 : c_bytes / bw;
  OpEstimate e = finish(plan.compute_s + store_s, bytes / bw, f.launch_overhead_s, flops, bytes, peak);
  e.onchip_bytes = Bytes{batch * (m * k * plan.tiles_n + k * n * plan.tiles_m) * b_in + batch * m * n * b_out};
  e.wave_efficiency = flops / plan.scheduled_flops;
  e.tile_m = plan.tm;
  e.tile_n = plan.tn;
  return e;
}

}  // namespace

OpEstimate estimate(const Device& dev, const Gemm& op) { return estimate_checked(dev, op, check_gemm(dev, op)); }

TrainingGemms estimate_training_gemms(const Device& dev, const Gemm& fwd, Precision grad_accumulation, bool accumulate) {
  const double peak = check_gemm(dev, fwd);
  if (!hw::is_valid(grad_accumulation)) {
    throw InvalidArgument("gemm: grad_accumulation: not a hw::Precision value (" +
                          std::to_string(static_cast<int>(grad_accumulation)) + ")");
  }
  Gemm di = fwd, dw = fwd;
  di.n = fwd.k;
  di.k = fwd.n;
  dw.m = fwd.k;
  dw.k = fwd.m;
  dw.output = grad_accumulation;
  dw.accumulate = accumulate;
  return {estimate_checked(dev, fwd, peak), estimate_checked(dev, di, peak), estimate_checked(dev, dw, peak)};
}

void estimate(const Device& dev, std::span<const Gemm> ops, std::span<OpEstimate> out) {
  if (ops.size() != out.size()) {
    throw InvalidArgument("estimate: ops and out differ in size (" + std::to_string(ops.size()) + " vs " +
                          std::to_string(out.size()) + ")");
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    try {
      out[i] = estimate(dev, ops[i]);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("ops[" + std::to_string(i) + "]: " + e.what());
    }
  }
}

void estimate_gemm_columns(const Device& dev, std::size_t count, const std::int64_t* m, const std::int64_t* n,
                           const std::int64_t* k, const std::int64_t* batch, Precision input, Precision output,
                           double* time_s, double* flops, double* hbm_bytes, std::int8_t* bound) {
  for (std::size_t i = 0; i < count; ++i) {
    Gemm op{m[i], n[i], k[i], batch[i], input, output, Gemm::Kernel::library};
    try {
      const OpEstimate e = estimate(dev, op);
      time_s[i] = e.time.value();
      flops[i] = e.flops.value();
      hbm_bytes[i] = e.hbm_bytes.value();
      bound[i] = static_cast<std::int8_t>(e.bound);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("index " + std::to_string(i) + ": " + e.what());
    }
  }
}

// --- Attention ---------------------------------------------------------------------------

OpEstimate estimate(const Device& dev, const Attention& op) {
  constexpr const char* kOp = "attention";
  positive(op.batch, kOp, "batch");
  positive(op.q_len, kOp, "q_len");
  positive(op.kv_len, kOp, "kv_len");
  positive(op.heads, kOp, "heads");
  positive(op.kv_heads, kOp, "kv_heads");
  positive(op.head_dim_qk, kOp, "head_dim_qk");
  positive(op.head_dim_v, kOp, "head_dim_v");
  if (op.q_len > op.kv_len) {
    throw InvalidArgument("attention: q_len (" + std::to_string(op.q_len) + ") must not exceed kv_len (" +
                          std::to_string(op.kv_len) + "): the new tokens are part of the context");
  }
  if (op.heads % op.kv_heads != 0) {
    throw InvalidArgument("attention: heads (" + std::to_string(op.heads) + ") must be a multiple of kv_heads (" +
                          std::to_string(op.kv_heads) + ")");
  }
  if (op.shared_kv && op.head_dim_v > op.head_dim_qk) {
    throw InvalidArgument("attention: with shared_kv, head_dim_v must not exceed head_dim_qk");
  }
  // Sizes are checked below as products; their sums (q_len + 1, the two head dims) must not
  // overflow first. 2^40 tokens or head dims is past anything the products could accept.
  constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;
  for (const auto& [v, f] : {std::pair{op.q_len, "q_len"}, {op.kv_len, "kv_len"}, {op.head_dim_qk, "head_dim_qk"},
                             {op.head_dim_v, "head_dim_v"}}) {
    if (v > kMaxDim) throw InvalidArgument(std::string("attention: ") + f + ": must be <= 2^40, got " + std::to_string(v));
  }
  // Score pairs per (sequence, head): causal queries sit at the end of the context, so query i
  // (1-based) of q_len sees kv_len - q_len + i keys.
  const std::int64_t q = op.q_len, kv = op.kv_len;
  std::int64_t pairs = 0;
  if (op.causal) {
    const std::int64_t tri = product(kOp, "q_len·(q_len+1)", {q, q + 1}) / 2;
    pairs = product(kOp, "q_len·(kv_len-q_len)", {q, kv - q});
    if (__builtin_add_overflow(pairs, tri, &pairs)) throw InvalidArgument("attention: score pairs overflow a 64-bit count");
  } else {
    pairs = product(kOp, "q_len·kv_len", {q, kv});
  }
  const std::int64_t flops_i =
      product(kOp, "2·batch·heads·pairs·(head_dim_qk+head_dim_v)", {2, op.batch, op.heads, pairs, op.head_dim_qk + op.head_dim_v});
  product(kOp, "batch·kv_len·kv_heads·head_dim", {op.batch, kv, op.kv_heads, op.head_dim_qk + op.head_dim_v});
  product(kOp, "batch·q_len·heads·head_dim", {op.batch, q, op.heads, op.head_dim_qk + op.head_dim_v});
  detail::check_enum(op.phase, Attention::Phase::prefill, Attention::Phase::decode, "attention: phase", "Attention::Phase");
  detail::check_enum(op.variant, Attention::Variant::mha, Attention::Variant::mla, "attention: variant", "Attention::Variant");
  for (const auto& [p, f] : {std::pair{op.compute, "compute"}, {op.kv_cache, "kv_cache"}}) {
    if (!hw::is_valid(p)) throw InvalidArgument(std::string("attention: ") + f + ": not a hw::Precision value (" + std::to_string(static_cast<int>(p)) + ")");
  }
  const double peak = dev.matrix_rate(op.compute);
  if (std::isnan(peak)) unsupported(dev, op.compute, kOp);
  const auto& f = dev.fractions();
  const double b = static_cast<double>(op.batch);
  const double bc = workload::bytes_per_element(op.compute);
  const double bkv = workload::bytes_per_element(op.kv_cache);
  const double h = static_cast<double>(op.heads), hkv = static_cast<double>(op.kv_heads);
  const double dqk = static_cast<double>(op.head_dim_qk), dv = static_cast<double>(op.head_dim_v);
  const double q_bytes = b * q * h * dqk * bc;
  const double o_bytes = b * q * h * dv * bc;
  const double kv_bytes = b * kv * hkv * (dqk + (op.shared_kv ? 0.0 : dv)) * bkv;
  const double bytes = q_bytes + o_bytes + kv_bytes;
  const double flops = static_cast<double>(flops_i);
  // Assumption: attention kernels split long contexts across units (flash-decoding, split-KV),
  // so there is no wave quantization; the family's attention fraction covers softmax and
  // pipeline stalls (prefill kernels: attention_prefill, where a family measured its flash
  // attention apart from its decode kernel). K/V are re-read from L2 once per 128-row block of
  // query rows per KV head.
  // Where the family's epilogue does not overlap (as for GEMMs), each tile loads its queries
  // before the key/value loop and stores its output after it while the matrix units wait.
  const double bw = dev.hbm_bandwidth() * f.memory;
  const double io_s = f.epilogue_overlap ? 0.0 : (q_bytes + o_bytes) / bw;
  const double fraction = op.phase == Attention::Phase::prefill ? f.attention_prefill : f.attention;
  const double q_rows_per_kv_head = static_cast<double>(q) * (h / hkv);
  // An MLA decode kernel computes whole tiles of query rows (tokens x heads sharing the latent):
  // below the family's tile (FlashMLA 64, CUTLASS MLA 128) the padding rows cost matrix time.
  const double padding = op.phase == Attention::Phase::decode && op.shared_kv
                             ? std::ceil(q_rows_per_kv_head / f.mla_decode_rows) * f.mla_decode_rows / q_rows_per_kv_head
                             : 1.0;
  // An MLA decode kernel streams its latent cache at the family's measured rate for that kernel
  // (mla_decode_memory; absent: the streaming fraction).
  const bool mla_decode = op.phase == Attention::Phase::decode && op.shared_kv;
  const double stream_bw = mla_decode ? dev.hbm_bandwidth() * f.mla_decode_memory : bw;
  OpEstimate e = finish(flops * padding / (peak * fraction) + io_s, bytes / stream_bw, f.launch_overhead_s, flops, bytes, peak);
  e.onchip_bytes = Bytes{q_bytes + o_bytes + kv_bytes * std::ceil(q_rows_per_kv_head / 128.0)};
  return e;
}

// --- Elementwise -------------------------------------------------------------------------

namespace {
struct Traits {
  double reads, writes, ops;  ///< per output element
};
// Vector operations per element are counted as the math an fp32 implementation issues
// (assumption; no vendor publishes them): exp = range reduction + degree-4 polynomial
// folded by the SFU ~ 4; silu/gelu ~ 8; softmax = max, subtract, exp, sum, divide ~ 5 + exp.
constexpr std::array<Traits, 12> kTraits{{
    {1, 1, 0},   // copy
    {1, 1, 1},   // scale
    {2, 1, 1},   // add
    {2, 1, 2},   // triad
    {1, 1, 4},   // exp
    {1, 1, 8},   // activation
    {2, 1, 9},   // gated
    {1, 1, 9},   // softmax
    {1, 1, 4},   // rmsnorm: square, sum, scale, weight
    {1, 1, 7},   // layernorm: mean, centre, square, sum, scale, weight, bias
    {1, 1, 3},   // rope: two multiplies and an add per element
    {0, 2, 3},   // cast_transpose: abs-max, scale, convert; the 16-bit read is added in estimate()
}};
}  // namespace

OpEstimate estimate(const Device& dev, const Elementwise& op) {
  constexpr const char* kOp = "elementwise";
  detail::check_enum(op.kind, Elementwise::Kind::copy, Elementwise::Kind::cast_transpose, "elementwise: kind", "Elementwise::Kind");
  if (!hw::is_valid(op.dtype)) throw InvalidArgument("elementwise: dtype: not a hw::Precision value (" + std::to_string(static_cast<int>(op.dtype)) + ")");
  positive(op.elements, kOp, "elements");
  product(kOp, "elements·bytes", {op.elements, 24});
  const Traits& t = kTraits[static_cast<std::size_t>(op.kind)];
  const double n = static_cast<double>(op.elements);
  double bytes = n * (t.reads + t.writes) * workload::bytes_per_element(op.dtype);
  // A cast reads its 16-bit source whatever precision it writes (two copies: the GEMM's forward
  // operand and the transposed one the backward's other GEMM needs).
  if (op.kind == Elementwise::Kind::cast_transpose) bytes += n * 2.0;
  const double flops = n * t.ops;
  const auto& f = dev.fractions();
  const auto vec = dev.vector_peak();
  // Unknown vector rate: only the memory ceiling is modelled (peak reported as 0).
  const double peak = vec ? vec->value() : 0.0;
  const double compute_s = vec ? flops / (peak * f.vector) : 0.0;
  OpEstimate e = finish(compute_s, bytes / (dev.hbm_bandwidth() * f.memory), f.launch_overhead_s, flops, bytes, peak);
  e.onchip_bytes = Bytes{bytes};
  return e;
}

// --- Roofline ----------------------------------------------------------------------------

Roofline roofline(const Device& dev, Precision p) {
  Roofline r;
  r.chip = dev.chip().id;
  r.precision = p;
  const auto& f = dev.fractions();
  const std::string ps(hw::to_string(p));
  const auto& u = dev.chip().units(p);
  if (!u.matrix.known() && !u.matrix.absent()) (void)dev.matrix_peak(p);  // an unknown matrix roof: say so
  if (u.matrix.known()) {
    const FlopRate m = u.matrix.value_or(FlopRate{});
    r.compute.push_back({ps + " matrix", m, false});
    r.compute.push_back({ps + " matrix (achievable)", m * f.matrix, true});
  }
  if (u.vector.known()) {
    const FlopRate v = u.vector.value_or(FlopRate{});
    r.compute.push_back({ps + " vector", v, false});
    r.compute.push_back({ps + " vector (achievable)", v * f.vector, true});
  }
  if (r.compute.empty()) (void)dev.matrix_peak(p);  // throws the reason
  std::stable_sort(r.compute.begin(), r.compute.end(), [](const auto& a, const auto& b) { return a.rate > b.rate; });
  const FlopRate top = r.compute.front().rate;
  FlopRate top_achievable{};
  for (const auto& c : r.compute) {
    if (c.achievable && c.rate > top_achievable) top_achievable = c.rate;
  }
  const std::string hbm = dev.chip().main_memory.name.empty() ? "HBM" : dev.chip().main_memory.name;
  const Bandwidth bw = dev.memory_bandwidth();
  r.memory.push_back({hbm, bw, false, false, top / bw});
  r.memory.push_back({hbm + " (achievable)", bw * f.memory, true, false, top_achievable / (bw * f.memory)});
  for (const auto& tier : dev.chip().onchip) {
    if (tier.bandwidth.known()) {
      const Bandwidth tb = tier.bandwidth.value_or(Bandwidth{});
      if (tb.value() > 0) r.memory.push_back({tier.name, tb, false, true, top / tb});
    }
  }
  std::stable_sort(r.memory.begin(), r.memory.end(), [](const auto& a, const auto& b) { return a.bandwidth > b.bandwidth; });
  return r;
}

FlopRate Roofline::attainable(ArithmeticIntensity intensity, bool achievable) const {
  FlopRate c{};
  Bandwidth m{};
  for (const auto& x : compute) {
    if (x.achievable == achievable && x.rate > c) c = x.rate;
  }
  // Intensity is counted against main-memory bytes, so the main-memory ceiling bounds it; the
  // on-chip tiers are drawn for reference.
  for (const auto& x : memory) {
    if (x.achievable == achievable && !x.onchip) m = x.bandwidth;
  }
  return std::min(c, intensity * m);
}

}  // namespace model
}  // namespace perfmodel
