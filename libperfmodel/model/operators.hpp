#pragma once
// Operator time on one chip: a roofline with size effects.
//   time = max(compute time, memory time) + launch overhead
//   compute time = padded tile work, quantized into waves over the compute units,
//                  at the family's achievable fraction of the matrix (or vector) peak
//   memory time  = minimal HBM traffic (each operand read once, output written once)
//                  at the family's achievable fraction of HBM bandwidth
// The fractions and the launch overhead are data per chip family (hw::EfficiencyPolicy).

#include <cstdint>
#include <span>
#include <string_view>

#include <libperfmodel/model/device.hpp>
#include <libperfmodel/workload/ops.hpp>

namespace perfmodel::model {

enum class Bound { compute, memory, latency };
std::string_view to_string(Bound b);

struct OpEstimate {
  Seconds time{};
  Seconds compute_time{};   ///< at the achievable rate, after tile/wave quantization
  Seconds memory_time{};    ///< HBM traffic at the achievable bandwidth
  Seconds overhead{};       ///< fixed launch/latency floor added once per kernel
  Flops flops{};            ///< useful FLOPs (no padding)
  Bytes hbm_bytes{};        ///< main-memory traffic
  Bytes onchip_bytes{};     ///< operand traffic into the compute units (L2/SRAM tier)
  ArithmeticIntensity intensity{};  ///< flops / hbm_bytes
  FlopRate achieved{};      ///< flops / time
  Bandwidth achieved_bandwidth{};   ///< hbm_bytes / time
  FlopRate peak{};          ///< the ceiling the op runs on (matrix or vector peak; 0 if unknown)
  double fraction_of_peak = 0.0;    ///< achieved / peak (0 when the peak is unknown)
  double wave_efficiency = 1.0;     ///< useful work / scheduled work over compute units
  int tile_m = 0;           ///< chosen GEMM tile (0 for non-GEMM ops)
  int tile_n = 0;
  Bound bound = Bound::memory;
};

/// Throws InvalidArgument naming the parameter for non-positive dimensions, 64-bit overflow of
/// FLOP or byte counts, or a precision the chip does not support.
[[nodiscard]] OpEstimate estimate(const Device& dev, const workload::Gemm& op);
[[nodiscard]] OpEstimate estimate(const Device& dev, const workload::Attention& op);
[[nodiscard]] OpEstimate estimate(const Device& dev, const workload::Elementwise& op);

/// The three GEMMs of training a weight: forward m×n×k, input gradient m×k×n and weight
/// gradient k×n×m (same batch and input precision), each as estimate() gives it. The weight
/// gradient is written at `grad_accumulation` (fp32 as Megatron-Core's main_grad keeps it) and,
/// with `accumulate`, adds into that buffer across micro-batches (C += A·B reads C too). The shape
/// is checked once (the three share their FLOP count), which is what makes this faster than three calls.
struct TrainingGemms {
  OpEstimate forward, input_grad, weight_grad;
};
[[nodiscard]] TrainingGemms estimate_training_gemms(const Device& dev, const workload::Gemm& forward,
                                      hw::Precision grad_accumulation = hw::Precision::fp32, bool accumulate = true);

/// Batch form: out[i] = estimate(dev, ops[i]); sizes must match. Stops at the first bad op and
/// rethrows its error prefixed with the index.
void estimate(const Device& dev, std::span<const workload::Gemm> ops, std::span<OpEstimate> out);

/// Column form for vectorised callers (Python): GEMMs of shape m[i]×n[i]×k[i]×batch[i] at one
/// precision; writes time [s], flops, hbm bytes and the bound (0 compute, 1 memory, 2 latency).
/// Arrays of length `count`; no allocation.
void estimate_gemm_columns(const Device& dev, std::size_t count, const std::int64_t* m, const std::int64_t* n,
                           const std::int64_t* k, const std::int64_t* batch, hw::Precision input,
                           hw::Precision output, double* time_s, double* flops, double* hbm_bytes,
                           std::int8_t* bound);

}  // namespace perfmodel::model
