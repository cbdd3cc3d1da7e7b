#pragma once
// Hierarchical roofline of one chip at one precision: compute ceilings (matrix and vector
// units, peak and achievable) and memory ceilings per tier (HBM, plus on-chip tiers whose
// bandwidth the catalog knows), with the ridge point of each memory ceiling.

#include <string>
#include <vector>

#include <libperfmodel/model/device.hpp>

namespace perfmodel::model {

struct ComputeCeiling {
  std::string name;      ///< "bf16 matrix", "bf16 matrix (achievable)", "fp32 vector"
  FlopRate rate{};
  bool achievable = false;  ///< peak × the family's fraction
};

struct MemoryCeiling {
  std::string name;      ///< "HBM3", "HBM3 (achievable)", "L2"
  Bandwidth bandwidth{};
  bool achievable = false;
  bool onchip = false;          ///< an on-chip tier (L2, SRAM) rather than main memory
  ArithmeticIntensity ridge{};  ///< where it meets the top compute ceiling of the same kind
};

struct Roofline {
  std::string chip;
  hw::Precision precision = hw::Precision::bf16;
  std::vector<ComputeCeiling> compute;  ///< highest first
  std::vector<MemoryCeiling> memory;    ///< highest first

  /// min(top compute ceiling, intensity × top memory ceiling) over peak ceilings, or over the
  /// achievable ones when `achievable` is set.
  [[nodiscard]] FlopRate attainable(ArithmeticIntensity intensity, bool achievable = false) const;
};

/// Throws InvalidArgument when the chip has no known matrix or vector figure at `p`.
Roofline roofline(const Device& dev, hw::Precision p);

}  // namespace perfmodel::model
