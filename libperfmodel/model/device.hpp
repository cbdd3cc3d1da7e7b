#pragma once
// A chip prepared for estimation: catalog figures resolved once into plain numbers, paired with
// the efficiency policy of its family. Construct once, estimate many times (model/operators.hpp).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/efficiency.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::model {

/// Resolved fractions of an EfficiencyPolicy (absent attention -> matrix; absent attention_prefill
/// -> attention; absent
/// matrix_microbenchmark -> matrix; absent vector -> 0.6 of the vector peak; absent
/// attention_backward -> 1).
struct Fractions {
  double matrix = 0.0;
  double matrix_microbenchmark = 0.0;
  double attention = 0.0;
  double attention_prefill = 0.0;  ///< absent -> attention
  double attention_backward = 1.0;
  double vector = 0.0;
  double memory = 0.0;
  double launch_overhead_s = 0.0;
  bool fused_mla_prologue = false;  ///< absent -> false
  bool epilogue_overlap = true;     ///< absent -> true
  double mla_decode_rows = 1.0;     ///< absent -> 1 (no padding)
  double mla_decode_memory = 0.0;   ///< absent -> memory
  double swap_ab_rows = 0.0;        ///< absent -> 0 (no operand swap for small M)
};

class Device {
 public:
  /// Throws InvalidArgument when the chip's main-memory bandwidth is unknown (every estimate
  /// needs it) or the policy has no matrix/memory fraction or launch overhead.
  Device(hw::Chip chip, hw::EfficiencyPolicy policy);
  /// The chip `id_or_alias` from `cat` with its family's policy (or the "default" policy).
  static Device from_catalog(const catalog::Catalog& cat, std::string_view id_or_alias);

  // References into this Device; on a temporary (Device::from_catalog(cat, "h100").chip()) they
  // return copies instead, which cannot dangle.
  [[nodiscard]] const hw::Chip& chip() const& { return chip_; }
  [[nodiscard]] hw::Chip chip() && { return std::move(chip_); }
  [[nodiscard]] const hw::EfficiencyPolicy& policy() const& { return policy_; }
  [[nodiscard]] hw::EfficiencyPolicy policy() && { return std::move(policy_); }
  [[nodiscard]] const Fractions& fractions() const& { return fractions_; }
  [[nodiscard]] Fractions fractions() && { return fractions_; }

  /// Dense matrix-unit peak at `p`; throws InvalidArgument naming the chip and precision when
  /// the chip lacks it ("does not support fp8") or the figure is unknown.
  [[nodiscard]] FlopRate matrix_peak(hw::Precision p) const;
  /// True when the chip has a known matrix figure at `p`.
  [[nodiscard]] bool supports(hw::Precision p) const;
  /// Vector-unit rate for elementwise math (done in fp32 on every catalog chip; falls back to
  /// the bf16/fp16 vector figure). Empty when the catalog knows none.
  [[nodiscard]] std::optional<FlopRate> vector_peak() const { return vector_; }
  [[nodiscard]] Bandwidth memory_bandwidth() const { return Bandwidth{hbm_bw_}; }
  /// Units that run GEMM tiles in parallel; empty when unknown (no wave quantization then).
  [[nodiscard]] std::optional<int> compute_units() const { return units_; }

  // Hot-path accessors in SI doubles (no checks: p must be a valid enumerator, see hw::is_valid;
  // matrix_rate is NaN when unsupported).
  [[nodiscard]] double matrix_rate(hw::Precision p) const { return matrix_[static_cast<std::size_t>(p)]; }
  [[nodiscard]] double hbm_bandwidth() const { return hbm_bw_; }

  /// A tile shape with its reciprocals, precomputed for the GEMM hot path.
  struct Tile {
    double m, n, inv_m, inv_n;
  };
  [[nodiscard]] const std::vector<Tile>& tiles() const { return tiles_; }
  /// Compute units as a double (0 when unknown) and its reciprocal.
  [[nodiscard]] double units_f() const { return units_f_; }
  [[nodiscard]] double inv_units() const { return inv_units_; }

 private:
  hw::Chip chip_;
  hw::EfficiencyPolicy policy_;
  Fractions fractions_;
  std::array<double, hw::kPrecisionCount> matrix_{};
  std::optional<FlopRate> vector_;
  double hbm_bw_ = 0.0;
  std::optional<int> units_;
  std::vector<Tile> tiles_;
  double units_f_ = 0.0;
  double inv_units_ = 0.0;
};

/// One rank's share of a chip whose software exposes `ranks_per_chip` devices (Ascend 910C: each
/// die is a device): compute, HBM bandwidth and capacity and compute units split evenly. Throws
/// InvalidArgument for ranks_per_chip < 1.
hw::Chip per_rank_chip(hw::Chip chip, int ranks_per_chip);

}  // namespace perfmodel::model
