#pragma once
// Chip description: a plain value type, no behaviour. All compute figures are dense and per
// package; link bandwidths are per direction (a bidirectional vendor figure is halved on load).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::hw {

enum class Precision { fp64, fp32, tf32, bf16, fp16, fp8, fp4, int8, int4 };
inline constexpr std::size_t kPrecisionCount = 9;
inline constexpr std::array<Precision, kPrecisionCount> kAllPrecisions{
    Precision::fp64, Precision::fp32, Precision::tf32, Precision::bf16, Precision::fp16,
    Precision::fp8,  Precision::fp4,  Precision::int8, Precision::int4};

/// False for a value cast from an integer outside the enumerators (estimates reject it).
constexpr bool is_valid(Precision p) { return static_cast<std::size_t>(p) < kPrecisionCount; }
/// "fp64", "bf16", ... (the catalog's keys); "invalid" for a value outside the enumerators.
std::string_view to_string(Precision p);
/// Parses a catalog key; throws InvalidArgument listing the valid names.
Precision precision_from_string(std::string_view s);
/// Operand width in bits as used by export-control TPP (tf32 counted as 32); throws
/// InvalidArgument for a value outside the enumerators.
int bit_length(Precision p);

struct ComputeUnits {
  Figure<FlopRate> matrix;  ///< tensor / cube units, dense
  Figure<FlopRate> vector;  ///< SIMD / CUDA-core / vector units
  std::optional<FlopRate> vendor_sparse;  ///< vendor's 2:4-sparse matrix figure, if quoted
  [[nodiscard]] bool supported() const { return !matrix.absent() || !vector.absent(); }
  /// The figure GEMMs run at: the matrix peak, or the vector peak only where the chip has no
  /// matrix units for this format (matrix absent). A matrix peak stated unknown stays unknown.
  [[nodiscard]] const Figure<FlopRate>& gemm() const { return matrix.absent() && !vector.absent() ? vector : matrix; }
};

struct MemoryTier {
  std::string name;  ///< "HBM3", "L2", ...
  Figure<Bytes> capacity;         ///< as the datasheet states it (what tables show)
  Figure<Bandwidth> bandwidth;
  Figure<Bytes> usable_capacity;  ///< main memory only: what the driver reports as the device total
};

struct Link {
  std::string protocol;
  Figure<double> links;
  Figure<Bandwidth> bandwidth_per_direction;
  bool stated_bidirectional = false;  ///< the source quoted both directions summed
};

struct Chip {
  std::string id;
  std::string vendor;
  std::string name;
  std::string family;
  std::vector<std::string> aliases;
  std::optional<int> year;
  std::string status;  ///< shipping | announced | sampling | discontinued
  std::string notes;
  std::string source_file;
  std::string extends;

  Figure<std::string> process;
  Figure<double> dies;
  Figure<double> devices;  ///< devices the runtime addresses per package (absent: 1); recipes run a rank on each
  Figure<double> packages;  ///< integrated circuits the entry holds (absent: 1; a two-chip card: 2); figures are the entry's
  Figure<double> die_area_mm2;  ///< per die
  Figure<double> transistors_billion;
  Figure<Hertz> clock;
  std::string compute_unit_name;  ///< "SM", "AI Cube core", "CU"
  Figure<double> compute_units;   ///< units that run GEMM tiles in parallel (wave quantization)
  std::array<ComputeUnits, kPrecisionCount> compute{};
  MemoryTier main_memory;
  std::vector<MemoryTier> onchip;
  Link scale_up;
  Link scale_out;
  Figure<Watts> tdp;
  Figure<Dollars> price;

  /// Throws InvalidArgument for a value outside the Precision enumerators.
  [[nodiscard]] const ComputeUnits& units(Precision p) const;
  /// Best dense throughput at `p` (matrix, else vector); throws naming the chip and precision
  /// when the chip lacks the precision or the figure is unknown.
  [[nodiscard]] FlopRate peak(Precision p) const;
  /// Main memory that memory checks compare against: the driver-reported total where the part
  /// has one (NVIDIA datasheets say "80 GB" for 81,559 MiB), else the stated capacity. Throws
  /// naming the chip when both are unknown.
  [[nodiscard]] Bytes usable_memory() const {
    return main_memory.usable_capacity.known() ? main_memory.usable_capacity.require(id)
                                               : main_memory.capacity.require(id, "memory.main.capacity");
  }
};

}  // namespace perfmodel::hw
