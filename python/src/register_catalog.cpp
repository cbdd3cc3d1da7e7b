// Catalog access, system totals and export-control metrics.
#include <string>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/model/export_control.hpp>
#include <libperfmodel/model/system_metrics.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using catalog::Catalog;
using catalog::PartKind;

template <class Q>
py::object opt(const std::optional<Q>& q) {
  return q ? py::object(py::float_(q->value())) : py::object(py::none());
}

py::dict totals_dict(const Catalog& cat, const std::string& name) {
  const model::SystemTotals t = model::system_totals(cat, cat.system(name));
  py::dict d;
  d["system"] = t.system;
  d["chip"] = t.chip;
  d["chips"] = t.chips;
  py::dict peak;
  for (hw::Precision p : hw::kAllPrecisions) {
    const auto& v = t.peak[static_cast<std::size_t>(p)];
    if (v) peak[py::str(std::string(hw::to_string(p)))] = v->value();
  }
  d["peak_flops"] = peak;
  d["memory_capacity"] = opt(t.memory_capacity);
  d["memory_bandwidth"] = opt(t.memory_bandwidth);
  d["scale_up_per_direction"] = opt(t.scale_up_per_direction);
  d["scale_out_per_direction"] = opt(t.scale_out_per_direction);
  d["power"] = opt(t.power);
  d["chip_tdp_sum"] = opt(t.chip_tdp_sum);
  d["price"] = opt(t.price);
  d["missing"] = t.missing;
  return d;
}

py::dict export_dict(const Catalog& cat, const std::string& name) {
  const model::ExportControl e = model::export_control(cat.chip(name));
  py::dict d;
  d["chip"] = e.chip;
  d["tpp"] = e.tpp ? py::object(py::float_(*e.tpp)) : py::object(py::none());
  d["tpp_precision"] = e.tpp_precision ? py::object(py::str(std::string(hw::to_string(*e.tpp_precision)))) : py::object(py::none());
  d["die_area_mm2"] = e.die_area_mm2 ? py::object(py::float_(*e.die_area_mm2)) : py::object(py::none());
  d["performance_density"] = e.performance_density ? py::object(py::float_(*e.performance_density)) : py::object(py::none());
  d["classification"] = e.classification;
  d["reason"] = e.reason;
  d["rumour_inputs"] = e.rumour_inputs;
  d["rule"] = model::kEccn3A090Rule;
  return d;
}
}  // namespace

void register_catalog(py::module_& m) {
  py::class_<Catalog>(m, "Catalog", "A set of hardware parts (raw; use perfmodel.catalog).")
      .def_static("builtin", &Catalog::builtin, py::return_value_policy::copy)
      .def_static("empty", &Catalog::empty)
      .def("load", &Catalog::load, py::arg("path"), py::call_guard<py::gil_scoped_release>(),
           "This catalog plus the part files at path (file or directory); all-or-nothing.")
      .def("names",
           [](const Catalog& c, const std::optional<std::string>& kind) {
             if (!kind) return c.names();
             if (*kind == "chip") return c.names(PartKind::chip);
             if (*kind == "system") return c.names(PartKind::system);
             if (*kind == "efficiency") return c.names(PartKind::efficiency);
             throw InvalidArgument("kind must be 'chip', 'system', 'efficiency' or None, got '" + *kind + "'");
           },
           py::arg("kind") = py::none())
      .def("contains", &Catalog::contains, py::arg("name"))
      .def("resolve", &Catalog::resolve, py::arg("name"))
      .def("kind",
           [](const Catalog& c, const std::string& name) {
             switch (c.kind(name)) {
               case PartKind::chip: return "chip";
               case PartKind::system: return "system";
               case PartKind::efficiency: return "efficiency";
             }
             return "?";
           },
           py::arg("name"))
      .def("json", &Catalog::json, py::arg("name"))
      .def("system_totals", &totals_dict, py::arg("name"))
      .def("export_control", &export_dict, py::arg("name"));
}

}  // namespace perfmodel::python
