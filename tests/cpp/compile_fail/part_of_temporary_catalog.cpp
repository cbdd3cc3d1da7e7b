// Misuse: a part reference taken from a temporary catalog would dangle at the end of the
// statement; Catalog's rvalue chip/system/efficiency overloads are deleted.
#include <libperfmodel/catalog/catalog.hpp>

#include <string>

std::string chip_name(const perfmodel::catalog::Catalog& base) {
#ifdef PERFMODEL_MISUSE
  const auto& chip = base.with_json({}).chip("h100");
#else
  const perfmodel::catalog::Catalog cat = base.with_json({});
  const auto& chip = cat.chip("h100");
#endif
  return chip.name;
}
