#include <cstdio>
#include <string>

#include <libperfmodel/model/export_control.hpp>

namespace perfmodel::model {

namespace {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}
std::string fmt2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}
}  // namespace

ExportControl export_control(const hw::Chip& chip) {
  ExportControl out;
  out.chip = chip.id;
  bool any_unknown = false;
  for (hw::Precision p : hw::kAllPrecisions) {
    const hw::ComputeUnits& u = chip.units(p);
    for (const hw::Figure<FlopRate>* f : {&u.matrix, &u.vector}) {
      if (f->is_unknown()) any_unknown = true;
      if (!f->known()) continue;
      const double tpp = f->require(chip.id).value() / 1e12 * hw::bit_length(p);
      if (!out.tpp || tpp > *out.tpp) {
        out.tpp = tpp;
        out.tpp_precision = p;
      }
    }
  }
  if (chip.dies.known() && chip.die_area_mm2.known()) {
    out.die_area_mm2 = chip.dies.require(chip.id) * chip.die_area_mm2.require(chip.id);
  } else if (chip.die_area_mm2.known() && !chip.dies.is_unknown()) {
    out.die_area_mm2 = chip.die_area_mm2.require(chip.id);  // dies absent: one die
  }
  if (out.tpp && out.die_area_mm2) out.performance_density = *out.tpp / *out.die_area_mm2;

  if (!out.tpp) {
    out.classification = "undetermined";
    out.reason = "no dense throughput figure is known for any precision";
    return out;
  }
  const double tpp = *out.tpp;
  const std::string tpp_s = "TPP " + fmt(tpp) + " (" + std::string(hw::to_string(*out.tpp_precision)) + ")";
  const std::string caveat = any_unknown ? "; some precisions are unknown, so TPP is a lower bound" : "";
  if (tpp >= 4800.0) {
    out.classification = "3A090.a";
    out.reason = tpp_s + " >= 4800";
    return out;
  }
  if (tpp < 1600.0) {
    out.classification = any_unknown ? "undetermined" : "below 3A090";
    out.reason = tpp_s + " < 1600" + caveat;
    return out;
  }
  if (!out.performance_density) {
    out.classification = "undetermined";
    out.reason = tpp_s + " is in [1600, 4800) and the die area is unknown, so performance density cannot be computed";
    return out;
  }
  const double pd = *out.performance_density;
  const std::string pd_s = "PD " + fmt2(pd);
  // With a precision unknown, TPP and PD are lower bounds: a .b chip may really be .a.
  const std::string b_class = any_unknown ? "3A090.b or 3A090.a" : "3A090.b";
  if (pd >= 5.92) {
    out.classification = "3A090.a";
    out.reason = tpp_s + " >= 1600 and " + pd_s + " >= 5.92";
  } else if (pd >= 3.2) {
    out.classification = b_class;
    out.reason = tpp_s + " >= 1600 and " + pd_s + " in [3.2, 5.92)" + caveat;
  } else if (tpp >= 2400.0 && pd >= 1.6) {
    out.classification = b_class;
    out.reason = tpp_s + " in [2400, 4800) and " + pd_s + " in [1.6, 5.92)" + caveat;
  } else {
    out.classification = any_unknown ? "undetermined" : "below 3A090";
    out.reason = tpp_s + " and " + pd_s + " are below both 3A090.b bands (TPP >= 2400 with PD >= 1.6; PD >= 3.2)" + caveat;
  }
  return out;
}

}  // namespace perfmodel::model
