#pragma once
// One registration function per binding topic; module.cpp calls them in order.
#include <pybind11/pybind11.h>

namespace perfmodel::python {
void register_errors(pybind11::module_& m);
void register_units(pybind11::module_& m);
void register_catalog(pybind11::module_& m);
void register_ops(pybind11::module_& m);
void register_collectives(pybind11::module_& m);
void register_inference(pybind11::module_& m);
void register_training(pybind11::module_& m);
void register_power(pybind11::module_& m);
void register_search(pybind11::module_& m);
}  // namespace perfmodel::python
