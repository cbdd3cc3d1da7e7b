#pragma once
// System totals derived from the catalog: chips x per-chip figures, plus published
// system-level figures. A total is absent (nullopt) when its input is unknown; `missing`
// says which input, so nothing is silently zero.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::model {

struct SystemTotals {
  std::string system;
  std::string chip;
  int chips = 0;
  std::array<std::optional<FlopRate>, hw::kPrecisionCount> peak{};  ///< dense, whole system (FP32: the vector units, IEEE)
  std::optional<Bytes> memory_capacity;
  std::optional<Bandwidth> memory_bandwidth;
  std::optional<Bandwidth> scale_up_per_direction;   ///< sum over chips, one direction
  std::optional<Bandwidth> scale_out_per_direction;  ///< sum over chips, one direction
  std::optional<Watts> power;                        ///< published system power
  std::optional<Watts> chip_tdp_sum;                 ///< chips x TDP (chips only)
  std::optional<Dollars> price;
  std::vector<std::string> missing;  ///< "nvidia-gb300-nvl72: power is unknown (...)"
};

SystemTotals system_totals(const catalog::Catalog& cat, const hw::System& system);

}  // namespace perfmodel::model
