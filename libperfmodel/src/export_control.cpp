#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include <libperfmodel/model/export_control.hpp>

namespace perfmodel::model {

namespace {
/// `v` with the fewest decimals (from `decimals`) that keep it on the same side of every
/// threshold as the value itself (TPP 4799.5 printed "4800" beside "3A090.b").
std::string shown(double v, int decimals, std::initializer_list<double> thresholds) {
  // std::to_chars / from_chars: independent of the C locale a host program may set.
  char buf[400];
  std::string out;
  for (int d = decimals; d <= decimals + 6; ++d) {
    out.assign(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, d).ptr);
    double r = 0;
    std::from_chars(out.data(), out.data() + out.size(), r);
    bool same = true;
    for (double t : thresholds) same = same && ((r >= t) == (v >= t));
    if (same) break;
  }
  return out;
}

/// Records a figure of rumour confidence by its field ("compute.fp8.matrix").
template <class T>
void note_rumour(const hw::Figure<T>& f, std::vector<std::string>& out) {
  if (f.known() && f.provenance().confidence == hw::Confidence::rumour) out.push_back(f.field());
}
}  // namespace

ExportControl export_control(const hw::Chip& chip) {
  ExportControl out;
  out.chip = chip.id;
  bool any_unknown = false;
  const hw::Figure<FlopRate>* used = nullptr;
  const double ics = chip.packages.known() ? chip.packages.require(chip.id) : 1.0;
  for (hw::Precision p : hw::kAllPrecisions) {
    const hw::ComputeUnits& u = chip.units(p);
    for (const hw::Figure<FlopRate>* f : {&u.matrix, &u.vector}) {
      if (f->is_unknown()) any_unknown = true;
      if (!f->known()) continue;
      const double tpp = f->require(chip.id).value() / 1e12 * hw::bit_length(p) / ics;
      // Ties go to a format whose bit length is not an assumption (TF32 counted as 32 bits is one).
      if (!out.tpp || tpp > *out.tpp || (tpp == *out.tpp && out.tpp_precision == hw::Precision::tf32)) {
        out.tpp = tpp;
        out.tpp_precision = p;
        used = f;
      }
    }
  }
  if (chip.dies.known() && chip.die_area_mm2.known()) {
    out.die_area_mm2 = chip.dies.require(chip.id) * chip.die_area_mm2.require(chip.id) / ics;
  } else if (chip.die_area_mm2.known() && !chip.dies.is_unknown()) {
    out.die_area_mm2 = chip.die_area_mm2.require(chip.id) / ics;  // dies absent: one die
  }
  if (out.tpp && out.die_area_mm2) out.performance_density = *out.tpp / *out.die_area_mm2;
  if (used) note_rumour(*used, out.rumour_inputs);

  if (!out.tpp) {
    out.classification = "undetermined";
    out.reason = "no dense throughput figure is known for any precision";
    return out;
  }
  const double tpp = *out.tpp;
  const std::string per_ic = ics > 1 ? ", per integrated circuit: the entry holds " + shown(ics, 0, {}) : "";
  const std::string tpp_s = "TPP " + shown(tpp, 0, {1600.0, 2400.0, 4800.0}) + " (" +
                            std::string(hw::to_string(*out.tpp_precision)) + per_ic + ")";
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
    out.reason = tpp_s + " is in [1600, 4800) and " +
                 (chip.dies.is_unknown() ? std::string("the number of dies") : std::string("the die area")) +
                 " is unknown, so performance density cannot be computed";
    return out;
  }
  note_rumour(chip.die_area_mm2, out.rumour_inputs);  // PD decides from here on
  note_rumour(chip.dies, out.rumour_inputs);
  const double pd = *out.performance_density;
  const std::string pd_s = "PD " + shown(pd, 2, {1.6, 3.2, 5.92});
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
