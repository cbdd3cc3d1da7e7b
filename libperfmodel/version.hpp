#pragma once
// The single source of the perfmodel version: CMake and scikit-build-core both read
// PERFMODEL_VERSION_STRING from this file with a regex; keep the line format.

#define PERFMODEL_VERSION_MAJOR 0
#define PERFMODEL_VERSION_MINOR 1
#define PERFMODEL_VERSION_PATCH 0
#define PERFMODEL_VERSION_STRING "0.1.0"

namespace perfmodel {

/// Library version as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = PERFMODEL_VERSION_STRING;

}  // namespace perfmodel
