#include <libperfmodel/model/system_metrics.hpp>

namespace perfmodel::model {

namespace {
template <class T>
std::optional<T> take(const hw::Figure<T>& f, const std::string& part, std::vector<std::string>& missing) {
  if (f.known()) return f.require(part);
  missing.push_back(part + ": " + (f.field().empty() ? "figure" : f.field()) +
                    (f.is_unknown() ? " is unknown" + (f.provenance().note.empty() ? "" : " (" + f.provenance().note + ")")
                                    : " is not given"));
  return std::nullopt;
}
}  // namespace

SystemTotals system_totals(const catalog::Catalog& cat, const hw::System& s) {
  SystemTotals t;
  t.system = s.id;
  t.chip = s.chip;
  t.chips = s.chip_count();
  const hw::Chip& c = cat.chip(s.chip);
  const double n = t.chips;
  for (hw::Precision p : hw::kAllPrecisions) {
    const hw::ComputeUnits& u = c.units(p);
    if (!u.supported()) continue;
    // FP32 is IEEE FP32 on the vector units, as NVIDIA's tables quote it; a cube path that runs
    // FP32 GEMMs at reduced internal precision (Ascend's, HF32-like) is not the same number.
    const bool ieee_fp32 = p == hw::Precision::fp32 && !u.vector.absent();
    if (auto v = take(ieee_fp32 ? u.vector : u.gemm(), c.id, t.missing)) t.peak[static_cast<std::size_t>(p)] = *v * n;
  }
  if (auto v = take(c.main_memory.capacity, c.id, t.missing)) t.memory_capacity = *v * n;
  if (auto v = take(c.main_memory.bandwidth, c.id, t.missing)) t.memory_bandwidth = *v * n;
  if (auto v = take(c.scale_up.bandwidth_per_direction, c.id, t.missing)) t.scale_up_per_direction = *v * n;
  if (auto v = take(c.scale_out.bandwidth_per_direction, c.id, t.missing)) t.scale_out_per_direction = *v * n;
  if (auto v = take(c.tdp, c.id, t.missing)) t.chip_tdp_sum = *v * n;
  t.power = take(s.power, s.id, t.missing);
  t.price = take(s.price, s.id, t.missing);
  return t;
}

}  // namespace perfmodel::model
