// Power of catalog systems (model/power.hpp).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <libperfmodel/model/power.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

void register_power(py::module_& m) {
  m.def(
      "system_power",
      [](const catalog::Catalog& cat, const std::string& system, double utilization, double pue,
         const std::vector<std::pair<std::string, double>>& overrides) {
        model::PowerOptions o;
        o.utilization = utilization;
        o.pue = pue;
        o.overrides = overrides;
        const model::SystemPower p = model::system_power(cat, system, o);
        py::dict d;
        d["system"] = p.system;
        d["utilization"] = p.utilization;
        d["pue"] = p.pue;
        d["chip_watts"] = p.chip_watts;
        d["it_watts"] = p.it_watts;
        d["facility_watts"] = p.facility_watts;
        d["published_watts"] = p.published_watts ? py::object(py::float_(*p.published_watts)) : py::none();
        py::list rows;
        for (const auto& r : p.rows) {
          rows.append(py::make_tuple(r.component, r.count, r.watts_each, r.watts, r.source, r.confidence));
        }
        d["rows"] = rows;
        return d;
      },
      py::arg("catalog"), py::arg("system"), py::arg("utilization") = 1.0, py::arg("pue") = 1.0,
      py::arg("overrides") = std::vector<std::pair<std::string, double>>{});
  m.def(
      "chip_energy",
      [](const catalog::Catalog& cat, const std::string& chip) {
        const model::ChipEnergy e = model::chip_energy(cat, chip);
        py::dict d;
        d["chip"] = e.chip;
        d["family"] = e.family;
        py::dict mp;
        for (hw::Precision p : hw::kAllPrecisions) {
          const double j = e.matrix_j_per_flop[static_cast<std::size_t>(p)];
          if (j > 0) mp[py::str(std::string(hw::to_string(p)))] = j * 1e12;
        }
        d["matrix_pj_per_flop"] = mp;
        d["vector_pj_per_flop"] = e.vector_j_per_flop * 1e12;
        d["hbm_pj_per_byte"] = e.hbm_j_per_byte * 1e12;
        d["idle_watts"] = e.idle_watts;
        d["max_watts"] = e.max_watts;
        d["max_basis"] = e.max_basis;
        return d;
      },
      py::arg("catalog"), py::arg("chip"));
}

}  // namespace perfmodel::python
