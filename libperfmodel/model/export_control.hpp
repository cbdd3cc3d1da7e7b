#pragma once
// US export-control metrics (ECCN 3A090) for a catalog chip.
// Rule: 15 CFR Part 774, Supplement No. 1, ECCN 3A090, as revised by the BIS interim final rule
// "Implementation of Additional Export Controls: Certain Advanced Computing Items..."
// (88 FR 73458, 25 Oct 2023). TPP = 2 x MacTOPS x bit length, i.e. dense tera-ops/s x bits,
// maximised over precisions (per unit kind: the matrix or vector figure, not their sum, as the
// vendors' and BIS's worked figures count); performance density (PD) = TPP / applicable die area
// (mm^2), taken as the catalog's dies x die_area_mm2 (dies it does not list, such as I/O dies,
// are not counted). Both per integrated circuit: a board entry (packages > 1) is divided.
// Datacenter parts are assumed: Note 2 to 3A090 exempts parts not designed or marketed for
// datacenters below TPP 4800, which no catalog figure records.
//   3A090.a: TPP >= 4800, or TPP >= 1600 and PD >= 5.92
//   3A090.b: 2400 <= TPP < 4800 and 1.6 <= PD < 5.92, or TPP >= 1600 and 3.2 <= PD < 5.92

#include <optional>
#include <string>
#include <vector>

#include <libperfmodel/hw/chip.hpp>

namespace perfmodel::model {

struct ExportControl {
  std::string chip;
  std::optional<double> tpp;                 ///< dense; nullopt when no throughput is known
  std::optional<hw::Precision> tpp_precision;  ///< precision that sets the maximum
  std::optional<double> die_area_mm2;        ///< total over dies; nullopt when unknown
  std::optional<double> performance_density;  ///< TPP / mm^2
  std::string classification;  ///< "3A090.a", "3A090.b", "below 3A090", "undetermined"
  std::string reason;          ///< which threshold decided, or what is missing
  std::vector<std::string> rumour_inputs;  ///< fields of rumour confidence the class rests on (TPP's figure; PD's once it decides)
};

inline constexpr const char* kEccn3A090Rule =
    "15 CFR 774 Supp. 1 ECCN 3A090 (BIS IFR 88 FR 73458, 2023-10-25): 3A090.a TPP>=4800, or "
    "TPP>=1600 and PD>=5.92; 3A090.b 2400<=TPP<4800 and 1.6<=PD<5.92, or TPP>=1600 and "
    "3.2<=PD<5.92; per integrated circuit, datacenter parts assumed (Note 2 exempts others below TPP 4800)";

/// Classify a chip. Uses dense figures (vendor sparse figures are not counted).
ExportControl export_control(const hw::Chip& chip);

}  // namespace perfmodel::model
