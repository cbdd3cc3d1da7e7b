// perfmodel._core: raw bindings; the curated API lives in python/perfmodel/.
#include <libperfmodel/version.hpp>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "perfmodel compiled core (private; use the perfmodel package)";
  m.attr("__version__") = perfmodel::version_string;
  perfmodel::python::register_errors(m);
  perfmodel::python::register_units(m);
  perfmodel::python::register_catalog(m);
  perfmodel::python::register_ops(m);
  perfmodel::python::register_collectives(m);
  perfmodel::python::register_inference(m);
  perfmodel::python::register_training(m);
  perfmodel::python::register_power(m);
  perfmodel::python::register_search(m);
}
