// Units: run-time quantities, parsing and formatting.
#include <string>

#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
using units::AnyQuantity;

units::FormatOptions format_options(int significant, const std::string& prefixes, bool bits) {
  units::FormatOptions o;
  if (significant < 1 || significant > 15) {
    throw InvalidArgument("significant must be in 1..15, got " + std::to_string(significant));
  }
  o.significant = significant;
  if (prefixes == "auto") {
    o.prefixes = units::PrefixSystem::automatic;
  } else if (prefixes == "si") {
    o.prefixes = units::PrefixSystem::si;
  } else if (prefixes == "iec") {
    o.prefixes = units::PrefixSystem::iec;
  } else {
    throw InvalidArgument("prefixes must be 'auto', 'si' or 'iec', got '" + prefixes + "'");
  }
  o.bits = bits;
  return o;
}

void check_comparable(const AnyQuantity& a, const AnyQuantity& b) {
  if (a.dim != b.dim) {
    throw UnitMismatch("cannot compare " + units::dimension_symbol(a.dim) + " with " +
                       units::dimension_symbol(b.dim));
  }
}

AnyQuantity from_value_unit(double value, const std::string& unit) {
  const units::UnitInfo u = units::parse_unit(unit);
  return AnyQuantity{value * u.scale, u.dim};
}
}  // namespace

void register_units(py::module_& m) {
  py::class_<AnyQuantity>(m, "Quantity", "A value in SI base units with a physical dimension.")
      .def(py::init(&from_value_unit), py::arg("value"), py::arg("unit") = "",
           "Quantity(3.35, 'TB/s'): value expressed in `unit`, stored in SI base units.")
      .def_property_readonly("value", [](const AnyQuantity& q) { return q.value; },
                             "Value in SI base units (FLOP, B, s, J, W, USD and quotients).")
      .def_property_readonly("dimension",
                             [](const AnyQuantity& q) { return units::dimension_symbol(q.dim); },
                             "Dimension symbol such as 'B/s' or 'FLOP/s'.")
      .def_property_readonly("dimension_name",
                             [](const AnyQuantity& q) { return units::dimension_name(q.dim); })
      .def(
          "to",
          [](const AnyQuantity& q, const std::string& unit) {
            const units::UnitInfo u = units::parse_unit(unit);
            if (u.dim != q.dim) {
              throw UnitMismatch("cannot express " + units::dimension_symbol(q.dim) + " in '" +
                                 unit + "' (" + units::dimension_symbol(u.dim) + ")");
            }
            return q.value / u.scale;
          },
          py::arg("unit"), "The value expressed in `unit`, e.g. q.to('GB/s').")
      .def(
          "format",
          [](const AnyQuantity& q, int significant, const std::string& prefixes, bool bits) {
            return units::format(q, format_options(significant, prefixes, bits));
          },
          py::arg("significant") = 3, py::arg("prefixes") = "auto", py::arg("bits") = false)
      .def("__str__", [](const AnyQuantity& q) { return units::format(q); })
      .def("__repr__",
           [](const AnyQuantity& q) {
             return "Quantity(" + py::repr(py::float_(q.value)).cast<std::string>() + ", '" +
                    units::dimension_symbol(q.dim) + "')";
           })
      .def(py::self + py::self)
      .def(py::self - py::self)
      .def(py::self * py::self)
      .def(py::self / py::self)
      .def("__mul__", [](const AnyQuantity& q, double k) { return AnyQuantity{q.value * k, q.dim}; },
           py::is_operator())
      .def("__rmul__", [](const AnyQuantity& q, double k) { return AnyQuantity{q.value * k, q.dim}; },
           py::is_operator())
      .def("__truediv__", [](const AnyQuantity& q, double k) { return AnyQuantity{q.value / k, q.dim}; },
           py::is_operator())
      .def("__neg__", [](const AnyQuantity& q) { return AnyQuantity{-q.value, q.dim}; })
      .def("__eq__", [](const AnyQuantity& a, const AnyQuantity& b) { return a == b; },
           py::is_operator())
      .def("__ne__", [](const AnyQuantity& a, const AnyQuantity& b) { return !(a == b); },
           py::is_operator())
      .def("__lt__", [](const AnyQuantity& a, const AnyQuantity& b) { check_comparable(a, b); return a.value < b.value; },
           py::is_operator())
      .def("__le__", [](const AnyQuantity& a, const AnyQuantity& b) { check_comparable(a, b); return a.value <= b.value; },
           py::is_operator())
      .def("__gt__", [](const AnyQuantity& a, const AnyQuantity& b) { check_comparable(a, b); return a.value > b.value; },
           py::is_operator())
      .def("__ge__", [](const AnyQuantity& a, const AnyQuantity& b) { check_comparable(a, b); return a.value >= b.value; },
           py::is_operator())
      .def("__hash__", [](const AnyQuantity& q) {
        return py::hash(py::make_tuple(q.value, units::dimension_symbol(q.dim)));
      });

  m.def(
      "parse_quantity",
      [](const std::string& text, bool allow_negative) {
        return units::parse(text, {.allow_negative = allow_negative});
      },
      py::arg("text"), py::arg("allow_negative") = false,
      "Parse '3.35 TB/s' into a Quantity; raises InvalidArgument naming the text.");
  m.def(
      "parse_unit",
      [](const std::string& unit) {
        const units::UnitInfo u = units::parse_unit(unit);
        return py::make_tuple(u.scale, units::dimension_symbol(u.dim));
      },
      py::arg("unit"), "Scale to SI and dimension symbol of a unit: parse_unit('GB/s') -> (1e9, 'B/s').");
  m.def(
      "format_quantity",
      [](double value, const std::string& unit, int significant, const std::string& prefixes,
         bool bits) {
        const units::UnitInfo u = units::parse_unit(unit);
        return units::format(value * u.scale, u.dim, format_options(significant, prefixes, bits));
      },
      py::arg("value"), py::arg("unit"), py::arg("significant") = 3, py::arg("prefixes") = "auto",
      py::arg("bits") = false);
}

}  // namespace perfmodel::python
