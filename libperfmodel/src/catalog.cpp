// Catalog loading: strict JSON -> hw value types. Every rejection names the file, the JSON path
// of the field, the offending value and what was expected. Loading is all-or-nothing.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/detail/builtin_catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>

#include "json_text.hpp"

namespace bj = boost::json;

namespace perfmodel::catalog {

namespace detail {

struct RawPart {
  std::string file;
  bj::object obj;  ///< as written (with "extends")
  bj::object resolved;  ///< after extends
  std::string id;
  bool builtin = false;  ///< embedded in the library (not a user's file)
};

struct Entry {
  PartKind kind;
  std::size_t index;
};

struct CatalogData {
  std::vector<RawPart> raw;
  std::vector<hw::Chip> chips;
  std::vector<hw::System> systems;
  std::vector<hw::EfficiencyPolicy> policies;
  std::unordered_map<std::string, Entry> by_name;  ///< ids and aliases
  std::unordered_map<std::string, std::size_t> raw_by_id;
};

}  // namespace detail

namespace {

using detail::CatalogData;
using detail::RawPart;

std::string show(const bj::value& v) { return perfmodel::detail::show_json(v); }

// Reads one JSON object, remembering which keys were consumed so unknown keys are rejected.
class Reader {
 public:
  Reader(const bj::value& v, std::string path, const std::string& file)
      : path_(std::move(path)), file_(file) {
    if (!v.is_object()) fail(path_, "expected an object, got " + show(v));
    obj_ = &v.as_object();
  }

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw ConfigError(file_ + ": " + path + ": " + what);
  }
  [[noreturn]] void fail_key(std::string_view key, const std::string& what) const {
    fail(at(key), what);
  }
  [[nodiscard]] std::string at(std::string_view key) const { return path_ + "." + std::string(key); }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& file() const { return file_; }

  const bj::value* get(std::string_view key) {
    seen_.insert(std::string(key));
    return obj_->if_contains(key);
  }
  const bj::value& need(std::string_view key) {
    const bj::value* v = get(key);
    if (v == nullptr) fail_key(key, "required field is missing");
    return *v;
  }
  std::string text(std::string_view key, bool required) {
    const bj::value* v = required ? &need(key) : get(key);
    if (v == nullptr) return {};
    if (!v->is_string()) fail_key(key, "expected a string, got " + show(*v));
    std::string s(v->as_string());
    if (required && s.empty()) fail_key(key, "must not be empty");
    return s;
  }
  bool flag(std::string_view key) {
    const bj::value* v = get(key);
    if (v == nullptr) return false;
    if (!v->is_bool()) fail_key(key, "expected true or false, got " + show(*v));
    return v->as_bool();
  }
  std::optional<int> integer(std::string_view key, long lo, long hi) {
    const bj::value* v = get(key);
    if (v == nullptr) return std::nullopt;
    return to_int(*v, at(key), lo, hi);
  }
  int to_int(const bj::value& v, const std::string& path, long lo, long hi) const {
    double d = 0;
    if (v.is_int64()) {
      d = static_cast<double>(v.as_int64());
    } else if (v.is_uint64()) {
      d = static_cast<double>(v.as_uint64());
    } else if (v.is_double()) {
      d = v.as_double();
    } else {
      fail(path, "expected an integer, got " + show(v));
    }
    if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      fail(path, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], got " + show(v));
    }
    return static_cast<int>(d);
  }
  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const bj::value* v = get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) fail_key(key, "expected an array of strings, got " + show(*v));
    std::size_t i = 0;
    for (const auto& e : v->as_array()) {
      if (!e.is_string() || e.as_string().empty()) {
        fail(at(key) + "[" + std::to_string(i) + "]", "expected a non-empty string, got " + show(e));
      }
      out.emplace_back(e.as_string());
      ++i;
    }
    return out;
  }
  Reader child(std::string_view key) {
    const bj::value& v = need(key);
    return Reader(v, at(key), file_);
  }
  bool has(std::string_view key) const { return obj_->contains(key); }

  /// Rejects keys nobody asked for.
  void finish() const {
    for (const auto& kv : *obj_) {
      if (!seen_.contains(std::string(kv.key()))) {
        std::string allowed;
        for (const auto& s : seen_) allowed += (allowed.empty() ? "" : ", ") + s;
        fail(at(kv.key()), "unknown key; allowed here: " + allowed);
      }
    }
  }

 private:
  const bj::object* obj_ = nullptr;
  std::string path_;
  const std::string& file_;
  std::set<std::string> seen_;
};

hw::Confidence confidence_from(Reader& r) {
  const std::string c = r.text("confidence", true);
  if (c == "official") return hw::Confidence::official;
  if (c == "vendor-paper") return hw::Confidence::vendor_paper;
  if (c == "analyst") return hw::Confidence::analyst;
  if (c == "rumour") return hw::Confidence::rumour;
  if (c == "derived") return hw::Confidence::derived;
  r.fail_key("confidence", "got \"" + c +
                               "\", expected one of official, vendor-paper, analyst, rumour, derived");
}

enum class ValueKind { quantity, count, number, text };

struct FigureSpec {
  ValueKind kind = ValueKind::quantity;
  units::Dim dim{};
  bool allow_sparse = false;
};

// Reads the common figure envelope; returns nullopt for {"unknown": true}. The caller parses
// the value through `read_value`.
template <class T, class ReadValue>
hw::Figure<T> read_figure(Reader& parent, std::string_view key, const std::string& field,
                          bool allow_sparse, std::optional<FlopRate>* sparse, ReadValue read_value) {
  const bj::value* v = parent.get(key);
  if (v == nullptr) return hw::Figure<T>::absent_field(field);
  Reader r(*v, parent.at(key), parent.file());
  if (r.flag("unknown")) {
    std::string note = r.text("note", true);
    (void)r.text("source", false);
    r.finish();
    return hw::Figure<T>::unknown(std::move(note), field);
  }
  if (r.has("unknown")) r.fail_key("unknown", "must be true when present");
  hw::Provenance p;
  p.source = r.text("source", true);
  p.confidence = confidence_from(r);
  p.derived_from = r.text("derived_from", p.confidence == hw::Confidence::derived);
  p.note = r.text("note", false);
  T value = read_value(r, r.need("value"), r.at("value"));
  if (allow_sparse) {
    if (const bj::value* s = r.get("vendor_sparse")) {
      if (!s->is_string()) r.fail_key("vendor_sparse", "expected a string such as \"1979 TFLOP/s\", got " + show(*s));
      try {
        *sparse = units::parse_as<units::dim::flop_rate>(s->as_string());
      } catch (const Error& e) {
        r.fail_key("vendor_sparse", e.what());
      }
    }
  }
  r.finish();
  return hw::Figure<T>::known_value(std::move(value), std::move(p), field);
}

struct Plausible {
  double lo, hi;
  const char* range;
};

/// Bounds (SI) a catalog figure of dimension D must lie within.
template <units::Dim D>
constexpr Plausible plausible() {
  if constexpr (D == units::dim::bandwidth) return {1.0, 1e18, "a bandwidth between 1 B/s and 1 EB/s"};
  else if constexpr (D == units::dim::flop_rate) return {1.0, 1e21, "a rate between 1 FLOP/s and 1 ZFLOP/s"};
  else if constexpr (D == units::dim::byte) return {1.0, 1e18, "a size between 1 B and 1 EB"};
  else if constexpr (D == units::dim::power) return {1e-3, 1e9, "a power between 1 mW and 1 GW"};
  else if constexpr (D == units::dim::frequency) return {1.0, 1e12, "a frequency between 1 Hz and 1 THz"};
  else if constexpr (D == units::dim::time) return {1e-15, 3600.0, "a time between 1 fs and 1 h"};
  else {
    static_assert(D == units::dim::money, "give the new dimension its bounds");
    return {1e-2, 1e12, "an amount between 0.01 and 1e12 USD"};
  }
}

template <units::Dim D>
hw::Figure<units::Quantity<D>> quantity(Reader& parent, std::string_view key,
                                        const std::string& field,
                                        std::optional<FlopRate>* sparse = nullptr) {
  return read_figure<units::Quantity<D>>(
      parent, key, field, sparse != nullptr, sparse,
      [](Reader& r, const bj::value& v, const std::string& path) {
        if (!v.is_string()) {
          r.fail(path, "expected a string with a unit such as \"" +
                           std::string(D == units::dim::bandwidth ? "3.35 TB/s"
                                       : D == units::dim::flop_rate ? "989.4 TFLOP/s"
                                       : D == units::dim::byte      ? "80 GB"
                                       : D == units::dim::power     ? "700 W"
                                       : D == units::dim::frequency ? "1.98 GHz"
                                       : D == units::dim::time      ? "4 us"
                                                                    : "25000 USD") +
                           "\", got " + show(v));
        }
        units::Quantity<D> q{};
        try {
          q = units::parse_as<D>(v.as_string());
        } catch (const Error& e) {
          r.fail(path, e.what());
        }
        if (!(q.value() > 0.0)) r.fail(path, "got " + show(v) + ", expected a value > 0");
        const auto [lo, hi, range] = plausible<D>();
        // Assumption: a figure outside these (generous) bounds is a typo; past them sums and
        // products of estimates overflow to inf/NaN instead of reading as wrong.
        if (q.value() < lo || q.value() > hi) r.fail(path, "got " + show(v) + ", expected " + range);
        return q;
      });
}

// Counts are integers >= 1, except where none is a real answer (switch chips of a full mesh).
hw::Figure<double> count(Reader& parent, std::string_view key, const std::string& field, long min = 1) {
  return read_figure<double>(parent, key, field, false, nullptr,
                             [min](Reader& r, const bj::value& v, const std::string& path) {
                               return static_cast<double>(r.to_int(v, path, min, 100000000));
                             });
}

hw::Figure<double> number(Reader& parent, std::string_view key, const std::string& field) {
  return read_figure<double>(parent, key, field, false, nullptr,
                             [](Reader& r, const bj::value& v, const std::string& path) {
                               if (!v.is_number()) r.fail(path, "expected a number, got " + show(v));
                               const double d = v.to_number<double>();
                               // Every number read here (pJ per op, ratios, areas, transistor
                               // billions) lies well inside (1e-6, 1e6]; outside is a typo.
                               if (!std::isfinite(d) || d <= 1e-6 || d > 1e6) {
                                 r.fail(path, "got " + show(v) + ", expected a number between 1e-6 and 1e6");
                               }
                               return d;
                             });
}

/// A fraction in (0, max]. Efficiency fractions may pass 1 slightly (max 1.2): a measured kernel
/// can beat a conservative vendor peak (e.g. Ascend 910B BF16); physical ratios take max 1.
hw::Figure<double> fraction(Reader& parent, std::string_view key, std::string field = {}, double max = 1.2) {
  if (field.empty()) field = std::string(key);
  const std::string range = max <= 1.0 ? "(0, 1]" : "(0, 1.2]";
  return read_figure<double>(parent, key, field, false, nullptr,
                             [max, range](Reader& r, const bj::value& v, const std::string& path) {
                               if (!v.is_number()) r.fail(path, "expected a fraction in " + range + ", got " + show(v));
                               const double d = v.to_number<double>();
                               if (!std::isfinite(d) || d <= 0.0 || d > max) {
                                 r.fail(path, "got " + show(v) + ", expected a fraction in " + range);
                               }
                               return d;
                             });
}

hw::Figure<std::string> text_figure(Reader& parent, std::string_view key, const std::string& field) {
  return read_figure<std::string>(parent, key, field, false, nullptr,
                                  [](Reader& r, const bj::value& v, const std::string& path) {
                                    if (!v.is_string() || v.as_string().empty()) {
                                      r.fail(path, "expected a non-empty string, got " + show(v));
                                    }
                                    return std::string(v.as_string());
                                  });
}

hw::Link read_link(Reader& parent, std::string_view key, bool chip_level) {
  hw::Link link;
  const std::string field(key);
  // Absent figures still carry their field, so a missing link names what to add.
  link.links = hw::Figure<double>::absent_field(field + ".links");
  link.bandwidth_per_direction = hw::Figure<Bandwidth>::absent_field(field + ".bandwidth_per_direction");
  const bj::value* v = parent.get(key);
  if (v == nullptr) return link;
  Reader r(*v, parent.at(key), parent.file());
  link.protocol = r.text("protocol", false);
  if (chip_level) link.links = count(r, "links", field + ".links");
  const bool per_dir = r.has("bandwidth_per_direction");
  const bool bidir = r.has("bandwidth_bidirectional");
  if (per_dir && bidir) {
    r.fail(r.path(), "give exactly one of bandwidth_per_direction and bandwidth_bidirectional, not both");
  }
  if (per_dir) {
    link.bandwidth_per_direction = quantity<units::dim::bandwidth>(r, "bandwidth_per_direction", field + ".bandwidth_per_direction");
  } else if (bidir) {
    auto f = quantity<units::dim::bandwidth>(r, "bandwidth_bidirectional", field + ".bandwidth_bidirectional");
    link.stated_bidirectional = true;
    if (f.known()) {
      // Stored per direction: a symmetric link carries half its bidirectional total each way.
      hw::Provenance p = f.provenance();
      link.bandwidth_per_direction = hw::Figure<Bandwidth>::known_value(
          f.require("") / 2.0, p, field + ".bandwidth_bidirectional (halved)");
    } else {
      link.bandwidth_per_direction = f;
    }
  }
  r.finish();
  return link;
}

void read_common(Reader& r, std::string& id, std::string& vendor, std::string& name,
                 std::vector<std::string>& aliases, std::optional<int>& year, std::string& status,
                 std::string& notes, std::string& extends) {
  id = r.text("id", true);
  (void)r.text("kind", true);
  vendor = r.text("vendor", true);
  name = r.text("name", true);
  aliases = r.strings("aliases");
  year = r.integer("year", 1950, 2100);
  status = r.text("status", false);
  if (!status.empty() && status != "shipping" && status != "announced" && status != "sampling" &&
      status != "discontinued") {
    r.fail_key("status", "got \"" + status + "\", expected shipping, announced, sampling or discontinued");
  }
  notes = r.text("notes", false);
  extends = r.text("extends", false);
}

hw::Chip parse_chip(const RawPart& part) {
  hw::Chip c;
  const bj::value root(part.resolved);
  Reader r(root, "$", part.file);
  read_common(r, c.id, c.vendor, c.name, c.aliases, c.year, c.status, c.notes, c.extends);
  c.source_file = part.file;
  c.family = r.text("family", false);
  c.process = text_figure(r, "process", "process");
  c.dies = count(r, "dies", "dies");
  c.devices = count(r, "devices", "devices");
  if (c.devices.known() && c.dies.known() && c.devices.require(c.id) > c.dies.require(c.id)) {
    r.fail_key("devices", "is " + std::to_string(std::llround(c.devices.require(c.id))) + " but the package has " +
                              std::to_string(std::llround(c.dies.require(c.id))) + " dies; expected at most one device per die");
  }
  c.packages = count(r, "packages", "packages");
  if (c.packages.known() && c.dies.known() && c.packages.require(c.id) > c.dies.require(c.id)) {
    r.fail_key("packages", "is " + std::to_string(std::llround(c.packages.require(c.id))) + " but the entry has " +
                               std::to_string(std::llround(c.dies.require(c.id))) + " dies; expected at least one die per package");
  }
  c.die_area_mm2 = number(r, "die_area_mm2", "die_area_mm2");
  c.transistors_billion = number(r, "transistors_billion", "transistors_billion");
  c.clock = quantity<units::dim::frequency>(r, "clock", "clock");
  if (r.has("compute_units")) {
    Reader cu = r.child("compute_units");
    c.compute_unit_name = cu.text("name", true);
    c.compute_units = count(cu, "count", "compute_units.count");
    cu.finish();
  }
  if (r.has("compute")) {
    Reader comp = r.child("compute");
    for (hw::Precision p : hw::kAllPrecisions) {
      const std::string key(hw::to_string(p));
      if (!comp.has(key)) {
        (void)comp.get(key);
        continue;
      }
      Reader u = comp.child(key);
      hw::ComputeUnits& cu = c.compute[static_cast<std::size_t>(p)];
      cu.matrix = quantity<units::dim::flop_rate>(u, "matrix", "compute." + key + ".matrix", &cu.vendor_sparse);
      cu.vector = quantity<units::dim::flop_rate>(u, "vector", "compute." + key + ".vector");
      if (!cu.supported()) u.fail(u.path(), "give at least one of matrix and vector");
      u.finish();
    }
    comp.finish();
  }
  c.main_memory.capacity = hw::Figure<Bytes>::absent_field("memory.main.capacity");
  c.main_memory.bandwidth = hw::Figure<Bandwidth>::absent_field("memory.main.bandwidth");
  c.main_memory.usable_capacity = hw::Figure<Bytes>::absent_field("memory.main.usable_capacity");
  if (r.has("memory")) {
    Reader mem = r.child("memory");
    if (mem.has("main")) {
      Reader m = mem.child("main");
      c.main_memory.name = m.text("type", false);
      c.main_memory.capacity = quantity<units::dim::byte>(m, "capacity", "memory.main.capacity");
      c.main_memory.bandwidth = quantity<units::dim::bandwidth>(m, "bandwidth", "memory.main.bandwidth");
      c.main_memory.usable_capacity =
          quantity<units::dim::byte>(m, "usable_capacity", "memory.main.usable_capacity");
      // A driver total is the stated capacity in other units (GB vs GiB, 7.4 %) less what the
      // driver reserves; more than 15 % apart means one of the two belongs to another part.
      if (c.main_memory.usable_capacity.known() && c.main_memory.capacity.known()) {
        const double ratio = c.main_memory.usable_capacity.require(c.id).value() / c.main_memory.capacity.require(c.id).value();
        if (ratio < 0.85 || ratio > 1.15) {
          m.fail_key("usable_capacity", "is " + units::format(c.main_memory.usable_capacity.require(c.id)) +
                                            " against a capacity of " + units::format(c.main_memory.capacity.require(c.id)) +
                                            "; expected within 15 % of it (give both for the same memory)");
        }
      }
      m.finish();
    }
    if (const bj::value* on = mem.get("onchip")) {
      if (!on->is_array()) mem.fail_key("onchip", "expected an array of tiers, got " + show(*on));
      std::size_t i = 0;
      for (const auto& t : on->as_array()) {
        const std::string path = mem.at("onchip") + "[" + std::to_string(i) + "]";
        Reader tr(t, path, part.file);
        hw::MemoryTier tier;
        tier.name = tr.text("name", true);
        const std::string field = "memory.onchip[" + std::to_string(i) + "]";
        tier.capacity = quantity<units::dim::byte>(tr, "capacity", field + ".capacity");
        tier.bandwidth = quantity<units::dim::bandwidth>(tr, "bandwidth", field + ".bandwidth");
        tr.finish();
        c.onchip.push_back(std::move(tier));
        ++i;
      }
    }
    mem.finish();
  }
  c.scale_up = read_link(r, "scale_up", true);
  c.scale_out = read_link(r, "scale_out", true);
  c.tdp = quantity<units::dim::power>(r, "tdp", "tdp");
  c.price = quantity<units::dim::money>(r, "price", "price");
  r.finish();
  return c;
}

hw::System parse_system(const RawPart& part) {
  hw::System s;
  const bj::value root(part.resolved);
  Reader r(root, "$", part.file);
  read_common(r, s.id, s.vendor, s.name, s.aliases, s.year, s.status, s.notes, s.extends);
  s.source_file = part.file;
  s.level = r.text("level", true);
  if (s.level != "node" && s.level != "rack" && s.level != "supernode" && s.level != "pod") {
    r.fail_key("level", "got \"" + s.level + "\", expected node, rack, supernode or pod");
  }
  s.chip = r.text("chip", true);
  if (!r.has("chips")) r.fail_key("chips", "required field is missing");
  s.chips = count(r, "chips", "chips");
  if (!s.chips.known()) r.fail_key("chips", "the chip count of a system must be known");
  if (r.has("nodes")) {
    Reader n = r.child("nodes");
    s.nodes = count(n, "count", "nodes.count");
    s.chips_per_node = n.integer("chips_per_node", 1, 1000000);
    n.finish();
  }
  if (r.has("cpus")) {
    Reader c = r.child("cpus");
    s.cpu_model = c.text("model", false);
    s.cpus = count(c, "count", "cpus.count");
    c.finish();
  }
  if (r.has("scale_up")) {
    Reader u = r.child("scale_up");
    s.scale_up_domain = count(u, "domain_size", "scale_up.domain_size");
    const std::string topo = u.text("topology", false);
    if (!topo.empty()) {
      try {
        s.topology = hw::topology_from_string(topo);
      } catch (const Error& e) {
        u.fail_key("topology", e.what());
      }
    }
    s.switch_chips = count(u, "switch_chips", "scale_up.switch_chips", 0);
    s.in_network_reduction = u.flag("in_network_reduction");
    u.finish();
  }
  if (r.has("scale_out")) {
    Reader o = r.child("scale_out");
    s.scale_out_topology = o.text("topology", false);
    s.scale_out_radix = count(o, "switch_radix", "scale_out.switch_radix", 4);
    s.scale_out_oversubscription = number(o, "oversubscription", "scale_out.oversubscription");
    if (s.scale_out_oversubscription.known() && s.scale_out_oversubscription.value_or(1.0) < 1.0) {
      o.fail_key("oversubscription", "expected a number >= 1 (1 is non-blocking)");
    }
    o.finish();
  }
  s.racks = count(r, "racks", "racks");
  if (r.has("optics")) {
    Reader o = r.child("optics");
    s.transceivers = count(o, "transceivers", "optics.transceivers", 0);
    o.finish();
  }
  if (r.has("power_model")) {
    Reader pm = r.child("power_model");
    hw::PowerModel& m = s.power_model;
    m.present = true;
    m.delivery_efficiency = fraction(pm, "delivery_efficiency", "power_model.delivery_efficiency", 1.0);
    m.cooling_overhead = fraction(pm, "cooling_overhead", "power_model.cooling_overhead");
    const bj::value& list = pm.need("components");
    if (!list.is_array()) pm.fail_key("components", "expected an array of {name, count, watts_each}, got " + show(list));
    std::size_t i = 0;
    for (const auto& item : list.as_array()) {
      const std::string field = "power_model.components[" + std::to_string(i++) + "]";
      Reader c(item, "$." + field, r.file());
      hw::PowerComponent pc;
      pc.name = c.text("name", true);
      const bj::value& cnt = c.need("count");
      if (cnt.is_string()) {
        // The count is another field of this system, so it is stated (and sourced) once.
        pc.count_from = std::string(cnt.as_string());
        const hw::Figure<double>* ref = pc.count_from == "cpus"           ? &s.cpus
                                        : pc.count_from == "switch_chips" ? &s.switch_chips
                                        : pc.count_from == "transceivers" ? &s.transceivers
                                        : pc.count_from == "nodes"        ? &s.nodes
                                        : pc.count_from == "racks"        ? &s.racks
                                        : pc.count_from == "chips"        ? &s.chips
                                                                          : nullptr;
        if (ref == nullptr) {
          c.fail_key("count", "got \"" + pc.count_from + "\", expected a count figure or one of \"chips\", \"cpus\", \"switch_chips\", \"transceivers\", \"nodes\", \"racks\"");
        }
        if (ref->absent()) c.fail_key("count", "refers to " + pc.count_from + ", which this system does not give");
        pc.count = *ref;
      } else {
        pc.count = count(c, "count", field + ".count", 0);
      }
      pc.watts_each = quantity<units::dim::power>(c, "watts_each", field + ".watts_each");
      if (pc.watts_each.absent()) c.fail_key("watts_each", "required field is missing");
      c.finish();
      m.components.push_back(std::move(pc));
    }
    pm.finish();
  }
  s.power = quantity<units::dim::power>(r, "power", "power");
  s.price = quantity<units::dim::money>(r, "price", "price");
  r.finish();

  // Counts must add up.
  const double chips = s.chips.require(s.id);
  if (s.scale_up_domain.known()) {
    const double d = s.scale_up_domain.require(s.id);
    if (std::fmod(chips, d) != 0.0) {
      r.fail("$.scale_up.domain_size", "domain size " + std::to_string(static_cast<long>(d)) +
                                           " does not divide the chip count " +
                                           std::to_string(static_cast<long>(chips)));
    }
  }
  if (s.nodes.known() && s.chips_per_node) {
    const double n = s.nodes.require(s.id);
    if (n * *s.chips_per_node != chips) {
      r.fail("$.nodes", std::to_string(static_cast<long>(n)) + " nodes x " +
                            std::to_string(*s.chips_per_node) + " chips per node = " +
                            std::to_string(static_cast<long>(n) * *s.chips_per_node) +
                            ", but chips is " + std::to_string(static_cast<long>(chips)));
    }
  }
  return s;
}

hw::EfficiencyPolicy parse_efficiency(const RawPart& part) {
  hw::EfficiencyPolicy e;
  const bj::value root(part.resolved);
  Reader r(root, "$", part.file);
  std::string vendor, notes, status, extends;
  std::vector<std::string> aliases;
  std::optional<int> year;
  read_common(r, e.id, vendor, e.name, aliases, year, status, notes, extends);
  e.source_file = part.file;
  e.matrix = fraction(r, "matrix");
  e.matrix_microbenchmark = fraction(r, "matrix_microbenchmark");
  e.attention = fraction(r, "attention");
  e.attention_prefill = fraction(r, "attention_prefill");
  e.attention_backward = fraction(r, "attention_backward");
  e.vector = fraction(r, "vector");
  e.memory = fraction(r, "memory");
  e.mla_decode_memory = fraction(r, "mla_decode_memory");
  e.overlap = fraction(r, "overlap");
  e.launch_overhead = read_figure<Seconds>(r, "launch_overhead", "launch_overhead", false, nullptr,
      [](Reader& rr, const bj::value& v, const std::string& path) {
        if (!v.is_string()) rr.fail(path, "expected a time such as \"4 us\", got " + show(v));
        Seconds t{};
        try {
          t = units::parse_as<units::dim::time>(v.as_string());
        } catch (const Error& err) {
          rr.fail(path, err.what());
        }
        return t;
      });
  auto flag = [&](const char* key) {
    return read_figure<bool>(r, key, key, false, nullptr, [](Reader& rr, const bj::value& v, const std::string& path) {
      if (!v.is_bool()) rr.fail(path, "expected true or false, got " + show(v));
      return v.as_bool();
    });
  };
  e.fused_mla_prologue = flag("fused_mla_prologue");
  e.epilogue_overlap = flag("epilogue_overlap");
  e.mla_decode_rows = count(r, "mla_decode_rows", "mla_decode_rows", 1);
  e.swap_ab_rows = count(r, "swap_ab_rows", "swap_ab_rows", 1);
  for (const char* key : {"matrix", "memory", "launch_overhead"}) {
    if (!r.has(key)) r.fail_key(key, "required field is missing");
  }
  if (r.has("fabrics")) {
    Reader fr = r.child("fabrics");
    static constexpr std::array<std::string_view, 6> kFabrics{
        "single-hop-switched", "full-mesh", "two-tier-clos", "torus-2d", "torus-3d", "scale-out"};
    for (std::string_view name : kFabrics) {
      if (!fr.has(name)) continue;
      Reader f = fr.child(name);
      hw::FabricEfficiency fe;
      const std::string base = "fabrics." + std::string(name) + ".";
      fe.bandwidth = fraction(f, "bandwidth");
      fe.in_network = fraction(f, "in_network");
      fe.step_latency = quantity<units::dim::time>(f, "step_latency", base + "step_latency");
      fe.a2a_latency = quantity<units::dim::time>(f, "a2a_latency", base + "a2a_latency");
      fe.dispatch_overhead = quantity<units::dim::time>(f, "dispatch_overhead", base + "dispatch_overhead");
      fe.a2a_sync_latency = quantity<units::dim::time>(f, "a2a_sync_latency", base + "a2a_sync_latency");
      fe.half_size = quantity<units::dim::byte>(f, "half_size", base + "half_size");
      if (!f.has("bandwidth")) f.fail_key("bandwidth", "required field is missing");
      f.finish();
      e.fabrics.emplace_back(std::string(name), std::move(fe));
    }
    fr.finish();
  }
  if (r.has("energy")) {
    Reader en = r.child("energy");
    hw::EnergyPolicy& ep = e.energy;
    ep.present = true;
    if (en.has("matrix_pj_per_flop")) {
      Reader mp = en.child("matrix_pj_per_flop");
      for (hw::Precision p : hw::kAllPrecisions) {
        const std::string key(hw::to_string(p));
        ep.matrix_pj_per_flop[static_cast<std::size_t>(p)] = number(mp, key, "energy.matrix_pj_per_flop." + key);
      }
      mp.finish();
    } else {
      en.fail_key("matrix_pj_per_flop", "required field is missing");
    }
    ep.vector_pj_per_flop = number(en, "vector_pj_per_flop", "energy.vector_pj_per_flop");
    ep.hbm_pj_per_byte = number(en, "hbm_pj_per_byte", "energy.hbm_pj_per_byte");
    ep.scale_up_pj_per_bit = number(en, "scale_up_pj_per_bit", "energy.scale_up_pj_per_bit");
    ep.scale_out_pj_per_bit = number(en, "scale_out_pj_per_bit", "energy.scale_out_pj_per_bit");
    ep.idle_fraction = fraction(en, "idle_fraction", "energy.idle_fraction");
    if (ep.idle_fraction.known() && ep.idle_fraction.require(e.id) >= 1.0) {
      en.fail_key("idle_fraction", "got " + std::to_string(ep.idle_fraction.require(e.id)) + ", expected a fraction in (0, 1)");
    }
    for (const char* key : {"vector_pj_per_flop", "hbm_pj_per_byte", "idle_fraction"}) {
      if (!en.has(key)) en.fail_key(key, "required field is missing");
    }
    en.finish();
  }
  if (const bj::value* t = r.get("tile_shapes")) {
    if (!t->is_array() || t->as_array().empty()) r.fail_key("tile_shapes", "expected a non-empty array of [m, n] pairs, got " + show(*t));
    std::size_t i = 0;
    for (const auto& pair : t->as_array()) {
      const std::string path = r.at("tile_shapes") + "[" + std::to_string(i++) + "]";
      if (!pair.is_array() || pair.as_array().size() != 2) r.fail(path, "expected [m, n], got " + show(pair));
      e.tile_shapes.push_back({r.to_int(pair.as_array()[0], path + "[0]", 1, 4096), r.to_int(pair.as_array()[1], path + "[1]", 1, 4096)});
    }
  } else {
    e.tile_shapes = {{128, 128}};
  }
  r.finish();
  return e;
}

// --- JSON text -> RawPart -----------------------------------------------------------------

RawPart parse_raw(const std::string& file, const std::string& text) {
  bj::value v = perfmodel::detail::parse_json_text(text, file);
  if (!v.is_object()) {
    throw ConfigError(file + ": $: expected one part as a JSON object, got " + show(v));
  }
  RawPart part;
  part.file = file;
  part.obj = std::move(v.as_object());
  const bj::value* id = part.obj.if_contains("id");
  if (id == nullptr || !id->is_string()) {
    throw ConfigError(file + ": $.id: required field is missing or not a string");
  }
  part.id = std::string(id->as_string());
  auto kebab = [](const std::string& s) {
    if (s.empty() || s.front() == '-' || s.back() == '-') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok || (c == '-' && s[i + 1] == '-')) return false;
    }
    return true;
  };
  if (!kebab(part.id)) {
    throw ConfigError(file + ": $.id: got \"" + part.id +
                      "\", expected lower-case kebab case such as \"nvidia-h100-sxm\"");
  }
  return part;
}

// A figure ({"value": ...} or {"unknown": true}) is one fact with its own source and confidence.
bool is_figure(const bj::object& o) { return o.contains("value") || o.contains("unknown"); }

// Objects merge key by key; everything else is replaced. A figure in the override replaces the
// base's figure whole, so a what-if never inherits the base's source, note or "unknown" flag.
void merge_into(bj::object& base, const bj::object& over) {
  for (const auto& kv : over) {
    bj::value* existing = base.if_contains(kv.key());
    if (existing != nullptr && existing->is_object() && kv.value().is_object() && !is_figure(kv.value().as_object())) {
      merge_into(existing->as_object(), kv.value().as_object());
    } else {
      base[kv.key()] = kv.value();
    }
  }
}

std::string kind_of(const RawPart& p) {
  const bj::value* k = p.resolved.if_contains("kind");
  if (k == nullptr || !k->is_string()) {
    throw ConfigError(p.file + ": $.kind: required field is missing; expected \"chip\" or \"system\"");
  }
  std::string kind(k->as_string());
  if (kind != "chip" && kind != "system" && kind != "efficiency") {
    throw ConfigError(p.file + ": $.kind: got \"" + kind + "\", expected \"chip\", \"system\" or \"efficiency\"");
  }
  return kind;
}

std::size_t distance(std::string_view a, std::string_view b);
std::string lower_case(std::string_view name);

std::shared_ptr<CatalogData> build(std::vector<RawPart> raw) {
  auto data = std::make_shared<CatalogData>();
  std::set<std::string> builtin_chips;  // their families are the library's, not a user's typo
  // Ids unique.
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto [it, inserted] = by_id.emplace(raw[i].id, i);
    if (!inserted) {
      throw ConfigError(raw[i].file + ": $.id: duplicate id \"" + raw[i].id + "\" (already defined in " +
                        raw[it->second].file + "); use \"extends\" with a new id for a variant");
    }
  }
  // Resolve "extends" chains (deep merge), detecting cycles and unknown bases. Aliases of the
  // base may be named, so build an alias map from the raw objects first.
  std::unordered_map<std::string, std::string> alias_to_id;
  for (const auto& p : raw) {
    if (const bj::value* a = p.obj.if_contains("aliases"); a != nullptr && a->is_array()) {
      for (const auto& e : a->as_array()) {
        if (e.is_string()) alias_to_id.emplace(std::string(e.as_string()), p.id);
      }
    }
  }
  std::vector<int> state(raw.size(), 0);  // 0 = todo, 1 = in progress, 2 = done
  std::function<void(std::size_t, std::vector<std::string>&)> resolve = [&](std::size_t i, std::vector<std::string>& chain) {
    if (state[i] == 2) return;
    RawPart& p = raw[i];
    chain.push_back(p.id);
    if (state[i] == 1) {
      std::string cyc;
      for (const auto& c : chain) cyc += (cyc.empty() ? "" : " -> ") + c;
      throw ConfigError(p.file + ": $.extends: cycle in extends: " + cyc);
    }
    state[i] = 1;
    const bj::value* ext = p.obj.if_contains("extends");
    if (ext == nullptr) {
      p.resolved = p.obj;
    } else {
      if (!ext->is_string()) throw ConfigError(p.file + ": $.extends: expected a part id, got " + show(*ext));
      std::string base_id(ext->as_string());
      if (auto a = alias_to_id.find(base_id); a != alias_to_id.end() && !by_id.contains(base_id)) base_id = a->second;
      auto it = by_id.find(base_id);
      if (it == by_id.end()) {
        throw ConfigError(p.file + ": $.extends: unknown part \"" + std::string(ext->as_string()) + "\"");
      }
      resolve(it->second, chain);
      bj::object merged = raw[it->second].resolved;
      merged.erase("aliases");  // a variant does not inherit its base's short names
      merge_into(merged, p.obj);
      // A variant that restates its main memory's capacity does not inherit the base's
      // driver-reported total (it belongs to the base's memory); memory checks then use the
      // stated capacity unless the variant gives its own usable_capacity.
      auto main_of = [](const bj::object& o) -> const bj::object* {
        const bj::value* m = o.if_contains("memory");
        const bj::value* mm = m && m->is_object() ? m->as_object().if_contains("main") : nullptr;
        return mm && mm->is_object() ? &mm->as_object() : nullptr;
      };
      if (const bj::object* own = main_of(p.obj); own && own->contains("capacity") && !own->contains("usable_capacity")) {
        merged["memory"].as_object()["main"].as_object().erase("usable_capacity");
      }
      // Likewise a system variant with other chips (or another count) does not inherit the base's
      // published power or price: they were measured or quoted for the base's hardware.
      if (p.obj.contains("chip") || p.obj.contains("chips")) {
        for (const char* k : {"power", "price"}) {
          if (!p.obj.contains(k)) merged.erase(k);
        }
      }
      p.resolved = std::move(merged);
      const bj::value* k0 = raw[it->second].resolved.if_contains("kind");
      const bj::value* k1 = p.obj.if_contains("kind");
      if (k0 && k1 && *k0 != *k1) {
        throw ConfigError(p.file + ": $.kind: a " + show(*k1) + " cannot extend a " + show(*k0));
      }
    }
    state[i] = 2;
    chain.pop_back();
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::vector<std::string> chain;
    resolve(i, chain);
  }
  // Typed parts.
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const RawPart& p = raw[i];
    const std::string kind = kind_of(p);
    auto add_name = [&](const std::string& name, PartKind k, std::size_t idx, const std::string& what) {
      auto [it, inserted] = data->by_name.emplace(name, detail::Entry{k, idx});
      if (!inserted) {
        const std::string other = it->second.kind == PartKind::chip     ? data->chips[it->second.index].source_file
                                  : it->second.kind == PartKind::system ? data->systems[it->second.index].source_file
                                                                        : data->policies[it->second.index].source_file;
        throw ConfigError(p.file + ": " + what + ": name \"" + name + "\" is already used by " + other);
      }
    };
    if (kind == "chip") {
      data->chips.push_back(parse_chip(p));
      if (p.builtin) builtin_chips.insert(data->chips.back().id);
      const auto& c = data->chips.back();
      add_name(c.id, PartKind::chip, data->chips.size() - 1, "$.id");
      for (std::size_t a = 0; a < c.aliases.size(); ++a) add_name(c.aliases[a], PartKind::chip, data->chips.size() - 1, "$.aliases[" + std::to_string(a) + "]");
    } else if (kind == "efficiency") {
      data->policies.push_back(parse_efficiency(p));
      add_name(data->policies.back().id, PartKind::efficiency, data->policies.size() - 1, "$.id");
    } else {
      data->systems.push_back(parse_system(p));
      const auto& s = data->systems.back();
      add_name(s.id, PartKind::system, data->systems.size() - 1, "$.id");
      for (std::size_t a = 0; a < s.aliases.size(); ++a) add_name(s.aliases[a], PartKind::system, data->systems.size() - 1, "$.aliases[" + std::to_string(a) + "]");
    }
  }
  // References: a system's chip must be a chip part.
  for (auto& s : data->systems) {
    auto it = data->by_name.find(s.chip);
    if (it == data->by_name.end()) {
      throw ConfigError(s.source_file + ": $.chip: unknown reference \"" + s.chip + "\"; expected the id or alias of a chip part");
    }
    if (it->second.kind != PartKind::chip) {
      throw ConfigError(s.source_file + ": $.chip: \"" + s.chip + "\" is " +
                        (it->second.kind == PartKind::system ? "a system" : "an efficiency policy") + ", expected a chip");
    }
    s.chip = data->chips[it->second.index].id;
  }
  // A chip's family names its efficiency part; a family without one takes "default". In a
  // user's files, a family within two edits of an efficiency part (or another part's id) is taken
  // for a typo; a new family that close declares itself with an efficiency part of its own.
  for (const auto& c : data->chips) {
    if (c.family.empty() || builtin_chips.count(c.id) != 0) continue;
    auto it = data->by_name.find(c.family);
    if (it != data->by_name.end()) {
      if (it->second.kind == PartKind::efficiency) continue;
      throw ConfigError(c.source_file + ": $.family: \"" + c.family + "\" names a " +
                        (it->second.kind == PartKind::chip ? "chip" : "system") +
                        ", expected a chip family (an efficiency part's id, or a new family's name)");
    }
    for (const auto& e : data->policies) {
      if (e.id != "default" && distance(lower_case(c.family), e.id) <= 2) {
        throw ConfigError(c.source_file + ": $.family: no efficiency part is named \"" + c.family + "\"; did you mean \"" +
                          e.id + "\"? For a new family, add its efficiency part, e.g. {\"id\": \"" + c.family +
                          "\", \"kind\": \"efficiency\", \"extends\": \"" + e.id + "\"} (or \"default\")");
      }
    }
  }
  for (std::size_t i = 0; i < raw.size(); ++i) data->raw_by_id.emplace(raw[i].id, i);
  data->raw = std::move(raw);
  return data;
}

std::vector<RawPart> copy_raw(const CatalogData& d) {
  std::vector<RawPart> out;
  out.reserve(d.raw.size());
  for (const auto& r : d.raw) out.push_back(RawPart{r.file, r.obj, {}, r.id, r.builtin});
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ConfigError(p.string() + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Edit distance for "did you mean" suggestions.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const Catalog& Catalog::builtin() {
  static const Catalog instance = [] {
    std::vector<RawPart> raw;
    for (std::size_t i = 0; i < perfmodel::detail::kBuiltinCatalogFilesCount; ++i) {
      const auto& f = perfmodel::detail::kBuiltinCatalogFiles[i];
      raw.push_back(parse_raw(std::string("data/catalog/") + f.path, f.text));
      raw.back().builtin = true;
    }
    return Catalog(build(std::move(raw)));
  }();
  return instance;
}

Catalog Catalog::empty() { return Catalog(std::make_shared<CatalogData>()); }

Catalog Catalog::with_json(const std::vector<std::pair<std::string, std::string>>& files) const {
  std::vector<RawPart> raw = copy_raw(*data_);
  for (const auto& [origin, text] : files) raw.push_back(parse_raw(origin, text));
  return Catalog(build(std::move(raw)));
}

Catalog Catalog::load(const std::filesystem::path& path) const {
  std::vector<std::pair<std::string, std::string>> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::filesystem::path> found;
    // error_code overloads throughout: an unreadable subdirectory is a ConfigError naming it,
    // not a std::filesystem::filesystem_error.
    auto fail = [&](const std::filesystem::path& at) {
      throw ConfigError(at.string() + ": cannot read directory (" + ec.message() + ")");
    };
    std::filesystem::recursive_directory_iterator it(path, ec), end;
    if (ec) fail(path);
    for (; it != end; it.increment(ec)) {
      if (ec) fail(path);
      const auto& e = *it;
      if (e.is_regular_file(ec) && e.path().extension() == ".json" && e.path().parent_path().filename() != "schema") {
        found.push_back(e.path());
      }
    }
    if (ec) fail(path);
    std::sort(found.begin(), found.end());
    if (found.empty()) throw ConfigError(path.string() + ": directory holds no .json part files");
    for (const auto& f : found) files.emplace_back(f.string(), read_file(f));
  } else if (std::filesystem::is_regular_file(path, ec)) {
    files.emplace_back(path.string(), read_file(path));
  } else if (std::filesystem::exists(path, ec)) {  // a device, pipe or socket (/dev/null)
    throw ConfigError(path.string() + ": not a regular file or a directory of .json part files");
  } else {
    throw ConfigError(path.string() + ": no such file or directory");
  }
  return with_json(files);
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  for (const auto& c : data_->chips) out.push_back(c.id);
  for (const auto& s : data_->systems) out.push_back(s.id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Catalog::names(PartKind kind) const {
  std::vector<std::string> out;
  if (kind == PartKind::chip) {
    for (const auto& c : data_->chips) out.push_back(c.id);
  } else if (kind == PartKind::system) {
    for (const auto& s : data_->systems) out.push_back(s.id);
  } else {
    for (const auto& e : data_->policies) out.push_back(e.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
std::string lower_case(std::string_view name) {
  std::string low(name);
  std::transform(low.begin(), low.end(), low.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return low;
}

/// Ids and aliases are lower case; a name is looked up as given, then lower-cased ("H100").
template <class Map>
auto find_name(const Map& by_name, std::string_view name) {
  auto it = by_name.find(std::string(name));
  return it != by_name.end() ? it : by_name.find(lower_case(name));
}
}  // namespace

bool Catalog::contains(std::string_view name) const {
  return find_name(data_->by_name, name) != data_->by_name.end();
}

std::string Catalog::resolve(std::string_view name) const {
  auto it = find_name(data_->by_name, name);
  if (it != data_->by_name.end()) {
    switch (it->second.kind) {
      case PartKind::chip: return data_->chips[it->second.index].id;
      case PartKind::system: return data_->systems[it->second.index].id;
      case PartKind::efficiency: return data_->policies[it->second.index].id;
    }
  }
  // Names that contain what was typed come first ("nvidia-h100" -> "nvidia-h100-sxm", not the
  // nearer-by-edits "nvidia-b200"), then by edit distance.
  std::vector<std::tuple<bool, std::size_t, std::string>> close;
  const std::string low = lower_case(name);
  for (const auto& [n, e] : data_->by_name) {
    const std::size_t d = distance(low, n);
    const bool contains = !low.empty() && n.find(low) != std::string::npos;
    if (d <= std::max<std::size_t>(2, low.size() / 3) || contains) close.emplace_back(!contains, d, n);
  }
  std::sort(close.begin(), close.end());
  std::string msg = "no catalog part named \"" + std::string(name) + "\"";
  if (!close.empty()) {
    msg += "; did you mean ";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, close.size()); ++i) {
      msg += (i ? ", " : "") + units::quoted(std::get<2>(close[i]));
    }
    msg += "?";
  }
  throw NotFound(msg + " (list all with perfmodel list)");
}

namespace {
std::string a_kind(PartKind k) {
  switch (k) {
    case PartKind::chip: return "a chip";
    case PartKind::system: return "a system";
    case PartKind::efficiency: return "an efficiency policy";
  }
  return "a part";
}
}  // namespace

PartKind Catalog::kind(std::string_view name) const {
  return data_->by_name.at(resolve(name)).kind;
}

const hw::Chip& Catalog::chip(std::string_view name) const& {
  const auto& e = data_->by_name.at(resolve(name));
  if (e.kind != PartKind::chip) throw NotFound(units::quoted(name) + " is " + a_kind(e.kind) + ", not a chip");
  return data_->chips[e.index];
}

const hw::System& Catalog::system(std::string_view name) const& {
  const auto& e = data_->by_name.at(resolve(name));
  if (e.kind != PartKind::system) throw NotFound(units::quoted(name) + " is " + a_kind(e.kind) + ", not a system");
  return data_->systems[e.index];
}

const hw::EfficiencyPolicy& Catalog::efficiency(std::string_view family) const& {
  auto it = data_->by_name.find(std::string(family));
  if (it == data_->by_name.end() || it->second.kind != PartKind::efficiency) {
    it = data_->by_name.find("default");
    if (it == data_->by_name.end() || it->second.kind != PartKind::efficiency) {
      throw NotFound("no efficiency policy for family \"" + std::string(family) +
                     "\" and no \"default\" policy in this catalog");
    }
  }
  return data_->policies[it->second.index];
}

std::string Catalog::json(std::string_view name) const {
  const std::string id = resolve(name);
  return bj::serialize(data_->raw[data_->raw_by_id.at(id)].resolved);
}

}  // namespace perfmodel::catalog
