#pragma once
// Energy fields of estimates as Python dicts (shared by the serving and training bindings).
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

}  // namespace perfmodel::python
