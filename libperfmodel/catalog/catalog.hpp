#pragma once
// The hardware catalog: list, get and load chips and systems. Plain structs out; JSON parsing
// lives in libperfmodel/src/ so Boost.JSON stays out of public headers.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/efficiency.hpp>
#include <libperfmodel/hw/system.hpp>

namespace perfmodel::catalog {

enum class PartKind { chip, system, efficiency };

namespace detail {
struct CatalogData;
}

class Catalog {
 public:
  /// The catalog shipped with the library (data/catalog, compiled in). Loaded once.
  static const Catalog& builtin();
  /// An empty catalog, for building one only from user files.
  static Catalog empty();

  /// `base` plus the part(s) in a JSON file or a directory of JSON files (recursively).
  /// All-or-nothing: on any problem throws ConfigError naming file, JSON path, value and
  /// what was expected, and nothing is added.
  [[nodiscard]] Catalog load(const std::filesystem::path& path) const;
  /// `base` plus parts given as JSON text; `origin` names them in error messages.
  [[nodiscard]] Catalog with_json(const std::vector<std::pair<std::string, std::string>>& origin_and_text) const;

  /// Canonical ids of all chips and systems, sorted (efficiency policies are listed by
  /// names(PartKind::efficiency); contains, resolve and kind accept their ids too).
  [[nodiscard]] std::vector<std::string> names() const;
  [[nodiscard]] std::vector<std::string> names(PartKind kind) const;
  [[nodiscard]] bool contains(std::string_view id_or_alias) const;
  /// Canonical id for an id or alias; throws NotFound with close matches.
  [[nodiscard]] std::string resolve(std::string_view id_or_alias) const;
  [[nodiscard]] PartKind kind(std::string_view id_or_alias) const;
  /// Parts live as long as the catalog that holds them: the rvalue overloads are deleted, so
  /// `catalog::load(p).chip(id)` does not compile (it would return a dangling reference); keep
  /// the Catalog in a variable first.
  [[nodiscard]] const hw::Chip& chip(std::string_view id_or_alias) const&;
  [[nodiscard]] const hw::System& system(std::string_view id_or_alias) const&;
  /// The efficiency policy of a chip family; falls back to "default" when the family has none.
  [[nodiscard]] const hw::EfficiencyPolicy& efficiency(std::string_view family) const&;
  const hw::Chip& chip(std::string_view) const&& = delete;
  const hw::System& system(std::string_view) const&& = delete;
  const hw::EfficiencyPolicy& efficiency(std::string_view) const&& = delete;
  /// The part as JSON text after `extends` is applied (values keep their units and sources).
  [[nodiscard]] std::string json(std::string_view id_or_alias) const;

 private:
  explicit Catalog(std::shared_ptr<const detail::CatalogData> d) : data_(std::move(d)) {}
  std::shared_ptr<const detail::CatalogData> data_;
};

/// Shorthands for the built-in catalog.
inline const hw::Chip& chip(std::string_view id) { return Catalog::builtin().chip(id); }
inline const hw::System& system(std::string_view id) { return Catalog::builtin().system(id); }
inline std::vector<std::string> list() { return Catalog::builtin().names(); }
inline Catalog load(const std::filesystem::path& p) { return Catalog::builtin().load(p); }

}  // namespace perfmodel::catalog
