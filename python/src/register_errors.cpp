// C++ exceptions -> Python exceptions that derive from perfmodel.Error and the fitting builtin.
#include <exception>

#include <libperfmodel/error.hpp>

#include "register.hpp"

namespace py = pybind11;

namespace perfmodel::python {

namespace {
PyObject* g_error = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_unit_mismatch = nullptr;
PyObject* g_not_found = nullptr;
PyObject* g_config_error = nullptr;

PyObject* make_type(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("perfmodel.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::reinterpret_borrow<py::object>(type));
  return type;  // the module keeps a reference for the interpreter's lifetime
}
}  // namespace

void register_errors(py::module_& m) {
  py::handle exc(PyExc_Exception), value_error(PyExc_ValueError), key_error(PyExc_KeyError);
  g_error = make_type(m, "Error", "Root of all perfmodel errors.", py::make_tuple(exc));
  g_invalid_argument = make_type(m, "InvalidArgument", "A value is out of range or malformed.",
                                 py::make_tuple(py::handle(g_error), value_error));
  g_unit_mismatch = make_type(m, "UnitMismatch", "A value has the wrong physical dimension.",
                              py::make_tuple(py::handle(g_invalid_argument)));
  g_not_found = make_type(m, "NotFound", "A named part, model or algorithm does not exist.",
                          py::make_tuple(py::handle(g_error), key_error));
  g_config_error = make_type(m, "ConfigError", "A data or configuration file is invalid.",
                             py::make_tuple(py::handle(g_error), value_error));
  // KeyError.__str__ quotes its message; show perfmodel messages as written.
  py::handle(g_not_found).attr("__str__") = py::handle(PyExc_Exception).attr("__str__");

  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const UnitMismatch& e) {
      PyErr_SetString(g_unit_mismatch, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(g_invalid_argument, e.what());
    } catch (const NotFound& e) {
      PyErr_SetString(g_not_found, e.what());
    } catch (const ConfigError& e) {
      PyErr_SetString(g_config_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace perfmodel::python
