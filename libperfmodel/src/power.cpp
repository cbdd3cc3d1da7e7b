#include <libperfmodel/model/power.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <tuple>

#include <libperfmodel/error.hpp>
#include <libperfmodel/units/format.hpp>

namespace perfmodel::model {

namespace {

using hw::Precision;

constexpr double kPico = 1e-12;

std::string where(const hw::EfficiencyPolicy& p) {
  return (p.source_file.empty() ? "efficiency policy " + p.id : p.source_file);
}

double need(const hw::Figure<double>& f, const hw::EfficiencyPolicy& p) {
  if (!f.known()) {
    throw InvalidArgument(where(p) + ": " + f.field() + " is " + (f.is_unknown() ? "unknown" : "not given") +
                          "; the energy model needs it");
  }
  return f.require(p.id);
}

std::optional<double> peak_of(const hw::Chip& c, Precision p) {
  const hw::Figure<FlopRate>& f = c.units(p).gemm();  // where GEMMs run: FP32 on vector units costs energy too
  if (f.known()) return f.require(c.id).value();
  return std::nullopt;
}

std::string fmt_w(double w) { return units::format(Watts{w}); }

}  // namespace

ChipEnergy chip_energy(const hw::Chip& c, const hw::EfficiencyPolicy& pol) {
  const hw::EnergyPolicy& ep = pol.energy;
  if (!ep.present) {
    throw InvalidArgument(where(pol) + ": energy: not given; chip " + c.id + " (family \"" + c.family +
                          "\") has no energy per operation, so its power cannot be modelled");
  }
  ChipEnergy e;
  e.chip = c.id;
  e.family = pol.id;
  // A format the family file does not list costs what the reference format costs per unit of
  // its peak. Assumption: the matrix array draws the same power at each format's peak rate.
  std::optional<Precision> ref;
  for (Precision p : {Precision::bf16, Precision::fp16, Precision::fp8, Precision::int8, Precision::fp4}) {
    if (ep.matrix_pj_per_flop[static_cast<std::size_t>(p)].known() && peak_of(c, p)) {
      ref = p;
      break;
    }
  }
  for (Precision p : hw::kAllPrecisions) {
    const auto i = static_cast<std::size_t>(p);
    const auto peak = peak_of(c, p);
    if (!peak) continue;
    if (ep.matrix_pj_per_flop[i].known()) {
      e.matrix_j_per_flop[i] = ep.matrix_pj_per_flop[i].require(pol.id) * kPico;
    } else if (ref) {
      const auto r = static_cast<std::size_t>(*ref);
      e.matrix_j_per_flop[i] = ep.matrix_pj_per_flop[r].require(pol.id) * kPico * (*peak_of(c, *ref) / *peak);
    }
  }
  if (!ref) {
    throw InvalidArgument(where(pol) + ": energy.matrix_pj_per_flop: gives no format that " + c.id +
                          " has a known matrix peak for");
  }
  e.vector_j_per_flop = need(ep.vector_pj_per_flop, pol) * kPico;
  e.hbm_j_per_byte = need(ep.hbm_pj_per_byte, pol) * kPico;
  // Absent link energies mean links draw no traffic-dependent power: SerDes and optics stay
  // trained and send idle symbols, so their draw is in idle power and the system's components.
  e.scale_up_j_per_byte = ep.scale_up_pj_per_bit.value_or(0.0) * 8.0 * kPico;
  e.scale_out_j_per_byte = ep.scale_out_pj_per_bit.value_or(0.0) * 8.0 * kPico;
  const double idle_f = need(ep.idle_fraction, pol);
  // The catalog loader bounds it; a policy built in code is checked here (1 divided by zero below).
  if (!(idle_f >= 0.0 && idle_f < 1.0)) {
    throw InvalidArgument(where(pol) + ": energy.idle_fraction must lie in [0, 1), got " + std::to_string(idle_f));
  }
  if (c.tdp.known()) {
    e.max_watts = c.tdp.require(c.id).value();
    e.max_basis = "tdp";
  } else {
    // No TDP: the bound is every unit busy at its achievable rate (a large GEMM in the reference
    // format plus streaming HBM plus saturated scale-up links); idle is idle_fraction of it.
    if (!c.main_memory.bandwidth.known()) {
      throw InvalidArgument(c.id + ": tdp is unknown and memory.main.bandwidth is unknown; set tdp to model its power");
    }
    const double matrix_f = pol.matrix.known() ? pol.matrix.require(pol.id) : 1.0;
    const double memory_f = pol.memory.known() ? pol.memory.require(pol.id) : 1.0;
    const auto r = static_cast<std::size_t>(*ref);
    double dyn = e.matrix_j_per_flop[r] * matrix_f * *peak_of(c, *ref) +
                 e.hbm_j_per_byte * memory_f * c.main_memory.bandwidth.require(c.id).value();
    if (c.scale_up.bandwidth_per_direction.known()) {
      dyn += e.scale_up_j_per_byte * c.scale_up.bandwidth_per_direction.require(c.id).value();
    }
    e.max_watts = dyn / (1.0 - idle_f);
    e.max_basis = "derived: TDP unknown; " + pol.id + " energy per op with matrix (" + std::string(hw::to_string(*ref)) +
                  "), HBM and scale-up links all at their achievable rates";
  }
  e.idle_watts = idle_f * e.max_watts;
  return e;
}

ChipEnergy chip_energy(const catalog::Catalog& cat, std::string_view chip) {
  const hw::Chip& c = cat.chip(chip);
  return chip_energy(c, cat.efficiency(c.family));
}

ChipDraw chip_draw(const ChipEnergy& e, const Activity& a) {
  if (!(a.seconds > 0.0) || !std::isfinite(a.seconds)) {
    throw InvalidArgument("activity.seconds: got " + std::to_string(a.seconds) + ", expected a time > 0");
  }
  // Work is counted, never negative (-1e15 bytes gave a negative draw).
  const auto count = [](double v, const char* f, int precision = -1) {
    if (!(v >= 0.0 && std::isfinite(v))) {  // the message is built only here: this runs on every estimate
      const std::string sub = precision < 0 ? "" : "[" + std::string(hw::to_string(static_cast<hw::Precision>(precision))) + "]";
      throw InvalidArgument("activity." + std::string(f) + sub + ": got " + std::to_string(v) + ", expected >= 0");
    }
  };
  for (std::size_t i = 0; i < hw::kPrecisionCount; ++i) count(a.matrix_flops[i], "matrix_flops", static_cast<int>(i));
  count(a.vector_flops, "vector_flops");
  count(a.hbm_bytes, "hbm_bytes");
  count(a.scale_up_bytes, "scale_up_bytes");
  count(a.scale_out_bytes, "scale_out_bytes");
  ChipDraw d;
  const double inv = 1.0 / a.seconds;
  for (std::size_t i = 0; i < hw::kPrecisionCount; ++i) d.matrix += a.matrix_flops[i] * e.matrix_j_per_flop[i];
  d.matrix *= inv;
  d.vector = a.vector_flops * e.vector_j_per_flop * inv;
  d.memory = a.hbm_bytes * e.hbm_j_per_byte * inv;
  d.links = (a.scale_up_bytes * e.scale_up_j_per_byte + a.scale_out_bytes * e.scale_out_j_per_byte) * inv;
  d.idle = e.idle_watts;
  const double sum = d.idle + d.matrix + d.vector + d.memory + d.links;
  // Above the maximum the chip throttles clocks: the work takes longer at the cap. The estimate's
  // time already reflects achieved rates, so the draw is clamped, not the time stretched.
  d.capped = sum > e.max_watts;
  d.watts = std::min(sum, e.max_watts);
  return d;
}

namespace {

struct Override {
  const PowerOverrides* list;
  std::vector<bool> used;
  std::optional<double> take(std::string_view name) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i].first == name) {
        used[i] = true;
        return (*list)[i].second;
      }
    }
    return std::nullopt;
  }
};

void check_override_values(const std::string& sys, const PowerOverrides& ov) {
  for (const auto& [name, v] : ov) {
    if (!std::isfinite(v) || v < 0.0) {
      throw InvalidArgument(sys + ": overrides[\"" + name + "\"]: got " + std::to_string(v) + ", expected a finite value >= 0");
    }
    // A chip drawing nothing at full load is not a what-if of a chip (shares divide by the total).
    if (name == "chip_max_watts" && v <= 0.0) {
      throw InvalidArgument(sys + ": overrides[\"chip_max_watts\"]: got " + std::to_string(v) + ", expected watts > 0");
    }
    if ((name == "delivery_efficiency" && (v <= 0.0 || v > 1.0))) {
      throw InvalidArgument(sys + ": overrides[\"delivery_efficiency\"]: got " + std::to_string(v) + ", expected a fraction in (0, 1]");
    }
  }
}

void unknown_override_names(const std::string& sys, const hw::System& s, const Override& o) {
  for (std::size_t i = 0; i < o.list->size(); ++i) {
    if (o.used[i]) continue;
    std::string names = "chip_max_watts, chip_idle_watts, delivery_efficiency, cooling_overhead";
    for (const auto& c : s.power_model.components) names += ", " + c.name;
    throw InvalidArgument(sys + ": overrides: no component or setting named \"" + (*o.list)[i].first +
                          "\"; expected one of " + names);
  }
}

std::string source_of(const hw::Provenance& p) {
  if (p.confidence == hw::Confidence::derived && !p.derived_from.empty()) return p.derived_from + " (" + p.source + ")";
  return p.source;
}

}  // namespace

namespace {

/// Absent losses and cooling mean none (stated in the breakdown); a ratio the file marks unknown
/// needs an override, as an unknown component's watts does.
std::optional<std::string> unknown_ratio(const hw::System& s, const std::optional<double>& de,
                                         const std::optional<double>& co) {
  for (const auto& [f, given, name] : {std::tuple{&s.power_model.delivery_efficiency, de.has_value(), "delivery_efficiency"},
                                       std::tuple{&s.power_model.cooling_overhead, co.has_value(), "cooling_overhead"}}) {
    if (!given && !f->known() && !f->absent()) {
      const std::string& note = f->provenance().note;
      return s.id + ": power_model." + name + " is unknown" + (note.empty() ? "" : " (" + note + ")") +
             "; pass overrides={\"" + name + "\": ratio}";
    }
  }
  return std::nullopt;
}

}  // namespace

SystemOverhead system_overhead(const hw::System& s, const PowerOverrides& overrides) {
  SystemOverhead o;
  o.chips = s.chip_count();
  if (!s.power_model.present) {
    o.missing = s.id + " has no power_model (CPUs, switches, optics, losses) in the catalog";
    return o;
  }
  check_override_values(s.id, overrides);
  Override ov{&overrides, std::vector<bool>(overrides.size(), false)};
  const hw::PowerModel& m = s.power_model;
  for (std::size_t i = 0; i < m.components.size(); ++i) {
    const hw::PowerComponent& c = m.components[i];
    const auto w = ov.take(c.name);
    if (!c.count.known()) {
      o.missing = s.id + ": power_model.components[" + std::to_string(i) + "].count (" + c.name + ") is unknown";
      return o;
    }
    if (!w && !c.watts_each.known()) {
      o.missing = s.id + ": power_model.components[" + std::to_string(i) + "].watts_each (" + c.name + ") is unknown" +
                  (c.watts_each.provenance().note.empty() ? "" : " (" + c.watts_each.provenance().note + ")") +
                  "; pass overrides={\"" + c.name + "\": watts}";
      return o;
    }
    o.fixed_watts += c.count.require(s.id) * (w ? *w : c.watts_each.require(s.id).value());
  }
  const auto de = ov.take("delivery_efficiency");
  const auto co = ov.take("cooling_overhead");
  (void)ov.take("chip_max_watts");
  (void)ov.take("chip_idle_watts");
  unknown_override_names(s.id, s, ov);
  if (auto why = unknown_ratio(s, de, co)) {
    o.missing = *why;
    return o;
  }
  o.delivery_efficiency = de ? *de : m.delivery_efficiency.value_or(1.0);
  o.cooling_overhead = co ? *co : m.cooling_overhead.value_or(0.0);
  o.present = true;
  return o;
}

SystemPower system_power(const catalog::Catalog& cat, std::string_view name, const PowerOptions& opt) {
  const hw::System& s = cat.system(name);
  if (!(opt.utilization >= 0.0 && opt.utilization <= 1.0)) {
    throw InvalidArgument(s.id + ": utilization: got " + std::to_string(opt.utilization) + ", expected a fraction in [0, 1]");
  }
  if (!(opt.pue >= 1.0) || !std::isfinite(opt.pue)) {
    throw InvalidArgument(s.id + ": pue: got " + std::to_string(opt.pue) + ", expected a value >= 1 (facility power over IT power)");
  }
  if (!s.power_model.present) {
    throw InvalidArgument(s.source_file + ": power_model: not given for " + s.id +
                          "; the catalog has no component data (CPUs, switches, optics, losses) for this system (the chip "
                          "alone: chip_energy(" + s.chip + "); estimates on it report chip-only energy)");
  }
  check_override_values(s.id, opt.overrides);
  Override ov{&opt.overrides, std::vector<bool>(opt.overrides.size(), false)};
  const hw::Chip& chip = cat.chip(s.chip);
  ChipEnergy ce = chip_energy(chip, cat.efficiency(chip.family));
  std::string chip_src = ce.max_basis == "tdp" ? source_of(chip.tdp.provenance()) : ce.max_basis;
  std::string chip_conf = ce.max_basis == "tdp" ? std::string(hw::to_string(chip.tdp.provenance().confidence)) : "derived";
  if (auto v = ov.take("chip_max_watts")) {
    // Idle stays the family's fraction of the maximum unless chip_idle_watts is given too.
    ce.idle_watts *= *v / ce.max_watts;
    ce.max_watts = *v;
    chip_src = "user override";
    chip_conf = "override";
  }
  const auto idle = ov.take("chip_idle_watts");
  const bool idle_given = idle.has_value();
  if (idle) ce.idle_watts = *idle;
  // Below full load the row also stands on the idle draw: the family's idle fraction (an
  // assumption) unless given, so it is no better than derived.
  if (opt.utilization < 1.0 && !idle_given) {
    // derived, or rumour where the maximum itself is (never an upgrade)
    if (chip_conf != "rumour") chip_conf = "derived";
    chip_src += "; idle: the family's energy.idle_fraction of it";
  } else if (opt.utilization < 1.0 && chip_conf != "override") {
    chip_conf = "override";
    chip_src += "; idle: user override";
  }
  if (ce.idle_watts > ce.max_watts) {
    throw InvalidArgument(s.id + ": chip_idle_watts: " + fmt_w(ce.idle_watts) + " exceeds the chip maximum " + fmt_w(ce.max_watts));
  }
  SystemPower out;
  out.system = s.id;
  out.utilization = opt.utilization;
  out.pue = opt.pue;
  out.chip_watts = ce.idle_watts + opt.utilization * (ce.max_watts - ce.idle_watts);
  const double n = s.chip_count();
  out.rows.push_back({chip.name + " (chip)", n, out.chip_watts, n * out.chip_watts, chip_src, chip_conf});
  double sum = n * out.chip_watts;
  const hw::PowerModel& m = s.power_model;
  for (std::size_t i = 0; i < m.components.size(); ++i) {
    const hw::PowerComponent& c = m.components[i];
    const std::string field = "power_model.components[" + std::to_string(i) + "]";
    const double count = c.count.require(s.id);
    PowerRow row{c.name, count, 0, 0, "", ""};
    if (auto w = ov.take(c.name)) {
      row.watts_each = *w;
      row.source = "user override";
      row.confidence = "override";
    } else if (c.watts_each.known()) {
      row.watts_each = c.watts_each.require(s.id).value();
      row.source = source_of(c.watts_each.provenance());
      row.confidence = std::string(hw::to_string(c.watts_each.provenance().confidence));
      // The row is count x watts: a rumour-grade count (e.g. CloudMatrix's 112 L2 switch chips)
      // makes the row rumour-grade whatever its catalog watts' label (an overridden row says so).
      if (c.count.known() && c.count.provenance().confidence == hw::Confidence::rumour) row.confidence = "rumour";
    } else {
      throw InvalidArgument(s.source_file + ": " + field + ".watts_each (" + c.name + "): is unknown" +
                            (c.watts_each.provenance().note.empty() ? "" : " (" + c.watts_each.provenance().note + ")") +
                            "; pass overrides={\"" + c.name + "\": watts}");
    }
    row.watts = count * row.watts_each;
    sum += row.watts;
    out.rows.push_back(std::move(row));
  }
  const auto de = ov.take("delivery_efficiency");
  const auto co = ov.take("cooling_overhead");
  unknown_override_names(s.id, s, ov);
  if (auto why = unknown_ratio(s, de, co)) throw InvalidArgument(s.source_file + ": " + *why);
  const double eff = de ? *de : m.delivery_efficiency.value_or(1.0);
  const double cool = co ? *co : m.cooling_overhead.value_or(0.0);
  const double delivered = sum / eff;
  out.rows.push_back({"power delivery losses", 1, delivered - sum, delivered - sum,
                      de ? "user override" : (m.delivery_efficiency.known() ? source_of(m.delivery_efficiency.provenance()) : "none given (efficiency 1)"),
                      de ? "override" : (m.delivery_efficiency.known() ? std::string(hw::to_string(m.delivery_efficiency.provenance().confidence)) : "derived")});
  out.rows.push_back({"cooling (in-rack fans, pumps)", 1, delivered * cool, delivered * cool,
                      co ? "user override" : (m.cooling_overhead.known() ? source_of(m.cooling_overhead.provenance()) : "none given (0)"),
                      co ? "override" : (m.cooling_overhead.known() ? std::string(hw::to_string(m.cooling_overhead.provenance().confidence)) : "derived")});
  out.it_watts = delivered * (1.0 + cool);
  out.facility_watts = out.it_watts * opt.pue;
  if (opt.pue > 1.0) {
    out.rows.push_back({"facility overhead (PUE)", 1, out.facility_watts - out.it_watts, out.facility_watts - out.it_watts,
                        "user setting: PUE " + std::to_string(opt.pue), "override"});
  }
  if (s.power.known()) out.published_watts = s.power.require(s.id).value();
  return out;
}

SystemEnergy system_energy(const hw::Chip& chip, const hw::EfficiencyPolicy& policy, const hw::System& system) {
  SystemEnergy s;
  try {
    s.chip = chip_energy(chip, policy);
  } catch (const Error& e) {
    s.missing = e.what();
  }
  s.overhead = system_overhead(system);
  return s;
}

EnergyEstimate energy_of(const ChipEnergy& e, const SystemOverhead& o, const Activity& a, double chips) {
  if (!(chips > 0 && std::isfinite(chips))) {
    throw InvalidArgument("chips: expected a positive, finite count of chips drawing power, got " + std::to_string(chips));
  }
  const ChipDraw d = chip_draw(e, a);
  EnergyEstimate r;
  r.chip_watts = d.watts;
  r.capped = d.capped;
  r.watts_per_chip = o.per_chip(d.watts);
  r.watts = r.watts_per_chip * chips;
  r.joules = r.watts * a.seconds;
  r.idle_watts_per_chip = o.per_chip(e.idle_watts);
  r.basis = o.present ? "system" : "chips only: " + o.missing;
  return r;
}

}  // namespace perfmodel::model
