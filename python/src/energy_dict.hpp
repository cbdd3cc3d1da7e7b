#pragma once
// Result fields shared by the serving and training bindings: energy as a dict, the step's
// parts as a list of (name, kind, time, exposed, flops, bytes) tuples.
#include <cstddef>
#include <string>

#include <pybind11/pybind11.h>

#include <libperfmodel/model/power.hpp>

namespace perfmodel::python {

inline pybind11::dict energy_dict(const model::EnergyEstimate& e) {
  pybind11::dict d;
  d["chip_watts"] = e.chip_watts;
  d["watts_per_chip"] = e.watts_per_chip;
  d["watts"] = e.watts;
  d["joules"] = e.joules;
  d["idle_watts_per_chip"] = e.idle_watts_per_chip;
  d["capped"] = e.capped;
  d["basis"] = e.basis;
  return d;
}

/// One tuple per part of a step; `Part` is model::StepPart or model::TrainPart (to_string and
/// is_communication found by argument-dependent lookup).
template <class Part, class Parts>
pybind11::list parts_list(const Parts& parts) {
  pybind11::list out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto p = static_cast<Part>(i);
    const auto& x = parts[i];
    out.append(pybind11::make_tuple(std::string(to_string(p)), is_communication(p) ? "communication" : "compute",
                                    x.time, x.exposed, x.flops, x.bytes));
  }
  return out;
}

}  // namespace perfmodel::python
