#pragma once
// Achievable fractions of peak per chip family: data, not constants in code. A family's policy
// is a catalog part of kind "efficiency" (data/catalog/efficiency/<family>.json); chips whose
// family has none use the "default" policy. Every value carries its source like any figure.
// Users calibrate by copying a policy, changing fields and passing it to model::Device.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <array>

#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::hw {

/// An output tile a GEMM library may schedule on one compute unit.
struct TileShape {
  int m = 128;
  int n = 128;
};

/// Achievable behaviour of one interconnect fabric of a chip family (a scale-up topology such as
/// "single-hop-switched", or "scale-out" for the NIC network). Absent fields use defaults
/// documented in model/collectives.cpp.
struct FabricEfficiency {
  Figure<double> bandwidth;        ///< fraction of per-direction link bandwidth (ring, direct, all-to-all)
  Figure<double> in_network;       ///< fraction for in-switch reduction (NVLS/SHARP)
  Figure<Seconds> step_latency;    ///< per algorithm step (hop + synchronisation)
  Figure<Seconds> a2a_latency;     ///< fixed cost of one MoE dispatch/combine kernel
  Figure<Seconds> dispatch_overhead;  ///< extra fixed cost of dispatch (routing layout, quantisation)
  Figure<Seconds> a2a_sync_latency;   ///< MoE exchange: cost per synchronisation round, log2(ranks) rounds
  Figure<Bytes> half_size;         ///< message size reaching half the peak bandwidth
};

/// Energy per operation of a chip family (the policy file's "energy" section): what each unit of
/// work costs on top of idle power. Plain numbers in the units their names carry.
struct EnergyPolicy {
  bool present = false;  ///< the policy has an "energy" section
  std::array<Figure<double>, kPrecisionCount> matrix_pj_per_flop{};  ///< matrix units, by operand format
  Figure<double> vector_pj_per_flop;    ///< vector / CUDA-core math
  Figure<double> hbm_pj_per_byte;       ///< main-memory traffic (DRAM core + PHY)
  Figure<double> scale_up_pj_per_bit;   ///< chip-side scale-up SerDes, per bit sent
  Figure<double> scale_out_pj_per_bit;  ///< NIC, per bit sent
  Figure<double> idle_fraction;         ///< idle power over maximum power (TDP)
};

struct EfficiencyPolicy {
  std::string id;  ///< the family id, or "default"
  std::string name;
  std::string source_file;
  Figure<double> matrix;     ///< library GEMM at large size, fraction of matrix peak
  Figure<double> matrix_microbenchmark;  ///< vendor peak-loop test (operands on chip); absent: matrix
  Figure<double> attention;  ///< flash/MLA attention kernels, fraction of matrix peak (absent: matrix)
  /// Prefill (and training forward) attention, where each query tile streams the keys with a
  /// softmax between its two matmuls; absent: `attention` (which decode kernels always use).
  Figure<double> attention_prefill;
  /// The flash-attention backward's FLOP rate as a fraction of the forward's (absent: 1).
  Figure<double> attention_backward;
  Figure<double> vector;     ///< elementwise math, fraction of vector peak
  Figure<double> memory;     ///< streaming kernels, fraction of HBM bandwidth
  Figure<Seconds> launch_overhead;  ///< fixed per-kernel floor (launch, prologue, pipeline fill)
  Figure<double> overlap;    ///< share of the shorter of compute / communication hidden by micro-batch overlap
  /// The family's serving stack runs the MLA prologue (down and up projections, latent norms,
  /// RoPE, key absorption) as one operator; absent: false (separate kernels).
  Figure<bool> fused_mla_prologue;
  /// A GEMM tile's output store overlaps the next tile's main loop; absent: true. False where
  /// accumulators live in registers and the epilogue stalls the matrix units (Ampere, Hopper).
  Figure<bool> epilogue_overlap;
  /// Query rows (tokens x heads per KV head) one tile of the family's MLA decode kernel holds;
  /// fewer rows are padded to it (16 heads per rank under TP8 fill a quarter of a 64-row
  /// tile). Absent: no padding.
  Figure<double> mla_decode_rows;
  /// Fraction of HBM bandwidth at which the family's MLA decode kernel streams its latent cache,
  /// queries and outputs; absent: `memory` (a kernel that reaches the streaming rate).
  Figure<double> mla_decode_memory;
  /// A library GEMM (not grouped) with fewer rows than its smallest tile swaps its operands: the
  /// rows take the narrow side of the matrix instruction and are padded to a multiple of this
  /// (Hopper's wgmma: N a multiple of 8). Absent: no swap (rows padded to the smallest tile).
  Figure<double> swap_ab_rows;
  std::vector<TileShape> tile_shapes;  ///< output tiles the GEMM library chooses among
  std::vector<std::pair<std::string, FabricEfficiency>> fabrics;  ///< by fabric name
  EnergyPolicy energy;

  /// The fabric's parameters, or nullptr when the policy has none for it.
  [[nodiscard]] const FabricEfficiency* fabric(std::string_view fabric_name) const {
    for (const auto& [n, f] : fabrics) {
      if (n == fabric_name) return &f;
    }
    return nullptr;
  }
};

}  // namespace perfmodel::hw
