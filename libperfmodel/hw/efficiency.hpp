#pragma once
// Achievable fractions of peak per chip family: data, not constants in code. A family's policy
// is a catalog part of kind "efficiency" (data/catalog/efficiency/<family>.json); chips whose
// family has none use the "default" policy. Every value carries its source like any figure.
// Users calibrate by copying a policy, changing fields and passing it to model::Device.

#include <string>
#include <vector>

#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::hw {

/// An output tile a GEMM library may schedule on one compute unit.
struct TileShape {
  int m = 128;
  int n = 128;
};

struct EfficiencyPolicy {
  std::string id;  ///< the family id, or "default"
  std::string name;
  std::string source_file;
  Figure<double> matrix;     ///< library GEMM at large size, fraction of matrix peak
  Figure<double> matrix_microbenchmark;  ///< vendor peak-loop test (operands on chip); absent: matrix
  Figure<double> attention;  ///< flash/MLA attention kernels, fraction of matrix peak (absent: matrix)
  Figure<double> vector;     ///< elementwise math, fraction of vector peak
  Figure<double> memory;     ///< streaming kernels, fraction of HBM bandwidth
  Figure<Seconds> launch_overhead;  ///< fixed per-kernel floor (launch, prologue, pipeline fill)
  std::vector<TileShape> tile_shapes;  ///< output tiles the GEMM library chooses among
};

}  // namespace perfmodel::hw
