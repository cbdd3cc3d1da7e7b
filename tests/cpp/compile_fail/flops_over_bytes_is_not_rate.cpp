// Misuse: FLOP / B is an arithmetic intensity, not a throughput.
#include <libperfmodel/units/quantity.hpp>

perfmodel::FlopRate f(perfmodel::Flops w, perfmodel::Bytes b, perfmodel::Seconds t) {
#ifdef PERFMODEL_MISUSE
  (void)t;
  return w / b;
#else
  (void)b;
  return w / t;
#endif
}
