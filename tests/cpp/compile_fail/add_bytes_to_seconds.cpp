// Misuse: adding quantities of different dimensions must not compile.
#include <libperfmodel/units/quantity.hpp>

perfmodel::Bytes f(perfmodel::Bytes b, perfmodel::Seconds s) {
#ifdef PERFMODEL_MISUSE
  return b + s;
#else
  (void)s;
  return b + b;
#endif
}
