#pragma once
// System description (node, rack, supernode, pod): which chip, how many, how they connect,
// and published system-level figures. Refers to its chip by id.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libperfmodel/error.hpp>
#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::hw {

enum class Topology { single_hop_switched, full_mesh, two_tier_clos, torus_2d, torus_3d };
std::string_view to_string(Topology t);
Topology topology_from_string(std::string_view s);

/// One kind of non-chip part that draws power: CPUs, switch chips, NICs, optical transceivers,
/// fans. Modelled as a constant draw (watts_each is the part's full-load figure).
struct PowerComponent {
  std::string name;
  std::string count_from;  ///< "cpus", "switch_chips", ... when the count is another field of the system
  Figure<double> count;
  Figure<Watts> watts_each;
};

/// What a system draws besides its chips, and the losses on the way (section "power_model").
struct PowerModel {
  bool present = false;
  std::vector<PowerComponent> components;
  Figure<double> delivery_efficiency;  ///< AC to chip: power shelves, VRMs (fraction in (0, 1])
  Figure<double> cooling_overhead;     ///< in-rack fans/pumps as a fraction of the IT load
};

struct System {
  std::string id;
  std::string vendor;
  std::string name;
  std::string level;  ///< node | rack | supernode | pod
  std::vector<std::string> aliases;
  std::optional<int> year;
  std::string status;
  std::string notes;
  std::string source_file;
  std::string extends;

  std::string chip;  ///< id of the chip part (resolved from an alias on load)
  Figure<double> chips;
  Figure<double> nodes;
  std::optional<int> chips_per_node;
  std::string cpu_model;
  Figure<double> cpus;
  Figure<double> scale_up_domain;
  std::optional<Topology> topology;
  Figure<double> switch_chips;
  bool in_network_reduction = false;
  std::string scale_out_topology;
  Figure<double> scale_out_radix;             ///< ports per scale-out switch
  Figure<double> scale_out_oversubscription;  ///< bandwidth taper above the leaf tier (1 = non-blocking)
  Figure<double> racks;
  Figure<double> transceivers;
  PowerModel power_model;
  Figure<Watts> power;  ///< published total system power
  Figure<Dollars> price;

  /// Number of chips; every system has it (validated on load). A system built in code with no
  /// count, or one outside [1, 1e8] (what a file may give), throws naming the field.
  [[nodiscard]] int chip_count() const {
    const double n = chips.require(id, "chips");
    if (!(n >= 1.0 && n <= 1e8)) {
      throw ConfigError(id + ": chips: expected a count in [1, 1e8], got " + std::to_string(n));
    }
    return static_cast<int>(n);
  }
};

}  // namespace perfmodel::hw
