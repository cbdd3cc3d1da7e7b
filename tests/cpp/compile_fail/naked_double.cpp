// Misuse: a naked double is not a quantity; passing one where Watts are expected must not compile.
#include <libperfmodel/units/quantity.hpp>

perfmodel::Joules energy(perfmodel::Watts p, perfmodel::Seconds t) { return p * t; }

perfmodel::Joules f() {
#ifdef PERFMODEL_MISUSE
  return energy(700.0, perfmodel::Seconds{1.0});
#else
  return energy(perfmodel::Watts{700.0}, perfmodel::Seconds{1.0});
#endif
}
