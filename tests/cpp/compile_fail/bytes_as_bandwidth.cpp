// Misuse: a size is not a bandwidth; forgetting to divide by time must not compile.
#include <libperfmodel/units/quantity.hpp>

perfmodel::Bandwidth f(perfmodel::Bytes b, perfmodel::Seconds s) {
#ifdef PERFMODEL_MISUSE
  perfmodel::Bandwidth bw = b;
  (void)s;
  return bw;
#else
  return b / s;
#endif
}
