#pragma once
// Reading plan dicts from Python: each key is consumed so leftovers can be reported as unknown.
#include <string>
#include <type_traits>
#include <vector>

#include <pybind11/pybind11.h>

#include <libperfmodel/error.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/training.hpp>

namespace perfmodel::python {

namespace py = pybind11;

/// Reads `key` from a plan dict with the target's type; removes it so leftovers can be reported.
template <class T>
inline void take(py::dict& d, const char* key, T& out) {
  if (!d.contains(key)) return;
  py::object v = d[key];
  PyDict_DelItemString(d.ptr(), key);
  if (v.is_none()) return;
  // pybind11 would turn any number into a bool (NaN into true) and "" would stand for the default.
  if constexpr (std::is_same_v<T, bool>) {
    const std::string type = py::str(v.get_type().attr("__name__"));
    if (!py::isinstance<py::bool_>(v) && type != "bool_" && type != "bool") {  // numpy 1 / numpy 2 bools
      throw InvalidArgument(std::string(key) + ": expected True or False, got " + type + " " + std::string(py::repr(v)));
    }
  }
  // A bool is a Python int, but True is not a count (tp=True used to run as tp=1).
  if constexpr ((std::is_integral_v<T> && !std::is_same_v<T, bool>) || std::is_floating_point_v<T>) {
    const std::string type = py::str(v.get_type().attr("__name__"));
    if (py::isinstance<py::bool_>(v) || type == "bool_") {
      throw InvalidArgument(std::string(key) + ": expected " + (std::is_integral_v<T> ? "an integer" : "a number") +
                            ", got " + type + " " + std::string(py::repr(v)));
    }
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!py::isinstance<py::str>(v) || py::len(v) == 0) {
      throw InvalidArgument(std::string(key) + ": expected a non-empty string, got " +
                            std::string(py::str(v.get_type().attr("__name__"))) + " " + std::string(py::repr(v)));
    }
  }
  try {
    out = v.cast<T>();
  } catch (const py::cast_error&) {
    // Name the expected kind in Python's terms, not the C++ type ("long", "double").
    // An int that does not fit is not "not an integer" (99999999999999999999 read as that).
    const bool too_big = std::is_integral_v<T> && py::isinstance<py::int_>(v);
    const char* expected = too_big                       ? "an integer under 2^31 (the plan's counts)"
                           : std::is_integral_v<T>       ? "an integer"
                           : std::is_floating_point_v<T> ? "a number"
                                                         : nullptr;
    throw InvalidArgument(std::string(key) + ": expected " + (expected ? std::string(expected) : py::type_id<T>()) +
                          ", got " + std::string(py::str(v.get_type().attr("__name__"))) + " " + std::string(py::repr(v)));
  }
}

/// Reads `key` (a list) from a plan dict into `out`, converting each item with `conv` (which may
/// throw py::cast_error for a generic message, or InvalidArgument with its own).
template <class T, class F>
inline void take_list(py::dict& d, const char* key, std::vector<T>& out, F conv) {
  if (!d.contains(key)) return;
  py::object v = d[key];
  PyDict_DelItemString(d.ptr(), key);
  if (!py::isinstance<py::list>(v)) throw InvalidArgument(std::string(key) + ": expected a list of values");
  for (auto item : v.cast<py::list>()) {
    try {
      out.push_back(conv(py::reinterpret_borrow<py::object>(item)));
    } catch (const py::cast_error&) {
      throw InvalidArgument(std::string(key) + ": " + std::string(py::repr(item)) + " is not a valid value");
    }
  }
}

inline void take_precision(py::dict& d, const char* key, hw::Precision& out) {
  std::string s;
  take(d, key, s);
  if (!s.empty()) {
    try {
      out = hw::precision_from_string(s);
    } catch (const Error& e) {
      throw InvalidArgument(std::string(key) + ": " + e.what());
    }
  }
}

/// A copy of `in` that take() may consume (the caller's dict stays intact).
inline py::dict consumable(const py::dict& in) {
  py::dict d;
  for (auto kv : in) d[kv.first] = kv.second;
  return d;
}

/// Plans from dicts (register_inference.cpp, register_training.cpp); unknown keys raise.
model::InferencePlan inference_plan_from(const py::dict& in);
model::Parallelism parallel_from(py::dict d, const std::string& where);
model::TrainingPlan training_plan_from(const py::dict& in);

}  // namespace perfmodel::python
