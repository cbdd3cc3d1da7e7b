#pragma once
// Private: the catalog JSON files compiled into the library (generated at build time by
// cmake/EmbedCatalog.cmake). Include <libperfmodel/catalog/catalog.hpp> instead.

#include <cstddef>

namespace perfmodel::detail {

struct BuiltinFile {
  const char* path;  ///< relative to data/catalog
  const char* text;
};

extern const BuiltinFile kBuiltinCatalogFiles[];
extern const std::size_t kBuiltinCatalogFilesCount;

/// The model files of data/models (paths relative to data/models).
extern const BuiltinFile kBuiltinModelFiles[];
extern const std::size_t kBuiltinModelFilesCount;

}  // namespace perfmodel::detail
