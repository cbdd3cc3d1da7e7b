// Names and small helpers of the hardware value types.

#include <array>
#include <string>

#include <libperfmodel/detail/enum_check.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/hw/system.hpp>
#include <libperfmodel/units/format.hpp>

namespace perfmodel::hw {

namespace {
constexpr std::array<std::string_view, kPrecisionCount> kPrecisionNames{
    "fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4"};
// TPP counts operand bits; TF32 operands are stored in 32-bit registers (assumption: BIS
// counts the 32-bit width, which also matches NVIDIA's TF32 = FP16/2 design point).
constexpr std::array<int, kPrecisionCount> kBits{64, 32, 32, 16, 16, 8, 4, 8, 4};
constexpr std::array<std::string_view, 5> kTopologyNames{
    "single-hop-switched", "full-mesh", "two-tier-clos", "torus-2d", "torus-3d"};

std::string join(auto const& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}
}  // namespace

std::string_view to_string(Confidence c) {
  switch (c) {
    case Confidence::official: return "official";
    case Confidence::vendor_paper: return "vendor-paper";
    case Confidence::analyst: return "analyst";
    case Confidence::rumour: return "rumour";
    case Confidence::derived: return "derived";
  }
  return "?";
}

std::string_view to_string(Precision p) { return is_valid(p) ? kPrecisionNames[static_cast<std::size_t>(p)] : "invalid"; }

Precision precision_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kPrecisionNames.size(); ++i) {
    if (kPrecisionNames[i] == s) return static_cast<Precision>(i);
  }
  throw InvalidArgument("unknown precision '" + std::string(s) + "'; expected one of " +
                        join(kPrecisionNames));
}

int bit_length(Precision p) {
  if (!is_valid(p)) throw InvalidArgument("precision: not a hw::Precision value (" + std::to_string(static_cast<int>(p)) + ")");
  return kBits[static_cast<std::size_t>(p)];
}

std::string_view to_string(Topology t) { return detail::enum_name(t, kTopologyNames); }

Topology topology_from_string(std::string_view s) {
  for (std::size_t i = 0; i < kTopologyNames.size(); ++i) {
    if (kTopologyNames[i] == s) return static_cast<Topology>(i);
  }
  throw InvalidArgument("unknown topology '" + std::string(s) + "'; expected one of " +
                        join(kTopologyNames));
}

const ComputeUnits& Chip::units(Precision p) const {
  if (!is_valid(p)) throw InvalidArgument(id + ": precision: not a hw::Precision value (" + std::to_string(static_cast<int>(p)) + ")");
  return compute[static_cast<std::size_t>(p)];
}

FlopRate Chip::peak(Precision p) const {
  const ComputeUnits& u = units(p);
  if (!u.supported()) {
    throw InvalidArgument(id + " has no " + std::string(to_string(p)) +
                          " support in the catalog (compute." + std::string(to_string(p)) +
                          " is absent)");
  }
  const Figure<FlopRate>& f = u.gemm();
  if (f.known()) return f.require(id);
  const std::string key = "compute." + std::string(to_string(p));  // only on the way to an error
  return f.require(id, key + (&f == &u.matrix ? ".matrix" : ".vector"));  // throws "unknown"
}

}  // namespace perfmodel::hw
