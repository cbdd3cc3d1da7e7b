#pragma once
// Power and energy. A chip draws idle power plus energy per unit of work (matrix FLOPs by
// format, vector FLOPs, HBM bytes, link bits: data per chip family), capped at its maximum
// (TDP). A system adds constant-draw components (CPUs, switch chips, NICs, optics), then
// power-delivery losses and in-rack cooling; a facility multiplies by its PUE.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/efficiency.hpp>
#include <libperfmodel/hw/system.hpp>

namespace perfmodel::model {

/// A chip's energy model resolved into SI numbers (joules per FLOP, per byte).
struct ChipEnergy {
  std::string chip;
  std::string family;
  std::array<double, hw::kPrecisionCount> matrix_j_per_flop{};  ///< 0 where the chip lacks the format
  double vector_j_per_flop = 0;
  double hbm_j_per_byte = 0;
  double scale_up_j_per_byte = 0;
  double scale_out_j_per_byte = 0;
  double idle_watts = 0;
  double max_watts = 0;       ///< TDP, or the all-units-busy bound when TDP is unknown
  std::string max_basis;      ///< "tdp" or how the bound was derived
};

/// Throws InvalidArgument naming the family file and field when the family has no energy data.
ChipEnergy chip_energy(const hw::Chip& chip, const hw::EfficiencyPolicy& policy);
ChipEnergy chip_energy(const catalog::Catalog& cat, std::string_view chip);

/// Work one chip does in `seconds` (sums over the chip's ranks).
struct Activity {
  std::array<double, hw::kPrecisionCount> matrix_flops{};
  double vector_flops = 0;
  double hbm_bytes = 0;
  double scale_up_bytes = 0;   ///< bytes sent
  double scale_out_bytes = 0;  ///< bytes sent
  double seconds = 0;
};

struct ChipDraw {
  double watts = 0;  ///< average over the activity's time, after the cap
  double idle = 0, matrix = 0, vector = 0, memory = 0, links = 0;  ///< before the cap
  bool capped = false;  ///< the uncapped sum exceeded max_watts (the chip would throttle)
};

/// Average draw of one chip doing `a`. Throws InvalidArgument when a.seconds <= 0.
ChipDraw chip_draw(const ChipEnergy& e, const Activity& a);

/// User changes to a system's power model: a component's watts (by its name), "chip_max_watts",
/// "chip_idle_watts", "delivery_efficiency" or "cooling_overhead".
using PowerOverrides = std::vector<std::pair<std::string, double>>;

/// A system's non-chip draw resolved to numbers: all-in watts = (chips·P_chip + fixed) / delivery
/// · (1 + cooling).
struct SystemOverhead {
  double fixed_watts = 0;          ///< components (CPUs, switches, NICs, optics, ...)
  double delivery_efficiency = 1;
  double cooling_overhead = 0;
  int chips = 0;
  bool present = false;            ///< false: the system has no power model (chips only)
  std::string missing;             ///< why not present
  /// All-in watts per chip when each chip draws `chip_watts`.
  [[nodiscard]] double per_chip(double chip_watts) const {
    if (!present) return chip_watts;
    return (chip_watts + fixed_watts / chips) / delivery_efficiency * (1.0 + cooling_overhead);
  }
};

/// Resolves the power model; absent or unknown parts give present == false with the reason
/// (estimates then report chip-only energy). Overrides fill unknown components.
SystemOverhead system_overhead(const hw::System& system, const PowerOverrides& overrides = {});

struct PowerRow {
  std::string component;
  double count = 0;
  double watts_each = 0;
  double watts = 0;
  std::string source;      ///< citation, "user override", or "assumption: ..."
  std::string confidence;  ///< official | vendor-paper | analyst | rumour | derived | override
};

struct SystemPower {
  std::string system;
  double utilization = 1;
  double pue = 1;
  std::vector<PowerRow> rows;  ///< chips, components, delivery losses, cooling, facility (PUE > 1)
  double chip_watts = 0;       ///< per chip at this utilization
  double it_watts = 0;         ///< the system (rack/supernode) all-in, before the facility
  double facility_watts = 0;   ///< it_watts · PUE
  std::optional<double> published_watts;  ///< the catalog's published system power, if known
};

struct PowerOptions {
  double utilization = 1.0;  ///< chips' dynamic range in use: idle + u · (max − idle)
  double pue = 1.0;          ///< facility power usage effectiveness (>= 1)
  PowerOverrides overrides;
};

/// The power breakdown of a catalog system. Throws InvalidArgument naming the field for
/// utilization outside [0, 1], PUE < 1, an unknown override name, or a system without a power
/// model / a component of unknown watts that no override fills.
SystemPower system_power(const catalog::Catalog& cat, std::string_view system, const PowerOptions& options = {});

/// Energy of one estimate (a serving phase or a training step), all-in when the system has a
/// power model, chips only otherwise (basis says which).
struct EnergyEstimate {
  double chip_watts = 0;      ///< average draw per chip, chip only
  double watts_per_chip = 0;  ///< all-in share per chip (== chip_watts on a chips-only basis)
  double watts = 0;           ///< all-in, whole instance or cluster
  double joules = 0;          ///< per step (or forward), whole instance or cluster
  double idle_watts_per_chip = 0;  ///< all-in share per chip when the chips idle (for utilisation < 1)
  bool capped = false;
  std::string basis;          ///< "system" or "chips only: <reason>"
};

/// What a prepared system (serving or training) needs for energy: the chip's model, or why it
/// has none, and the system's overhead. Built once per prepared system.
struct SystemEnergy {
  std::optional<ChipEnergy> chip;
  SystemOverhead overhead;
  std::string missing;  ///< why `chip` is empty
};
SystemEnergy system_energy(const hw::Chip& chip, const hw::EfficiencyPolicy& policy, const hw::System& system);

/// `chips` chips each doing `a`, in a system with overhead `o`.
EnergyEstimate energy_of(const ChipEnergy& e, const SystemOverhead& o, const Activity& a, double chips);

}  // namespace perfmodel::model
