#pragma once
// Error hierarchy. Every failure the library reports derives from perfmodel::Error; messages
// name the offending input (file, field, text) and what was expected.

#include <stdexcept>
#include <string>

namespace perfmodel {

/// Root of all perfmodel errors.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// A value passed by the caller is out of range, malformed or inconsistent.
class InvalidArgument : public Error {
 public:
  explicit InvalidArgument(const std::string& what) : Error(what) {}
};

/// A value has the wrong physical dimension (e.g. bytes where bytes/s was expected).
class UnitMismatch : public InvalidArgument {
 public:
  explicit UnitMismatch(const std::string& what) : InvalidArgument(what) {}
};

/// A named thing (catalog part, model, algorithm) does not exist.
class NotFound : public Error {
 public:
  explicit NotFound(const std::string& what) : Error(what) {}
};

/// A configuration or data file is malformed or inconsistent.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error(what) {}
};

}  // namespace perfmodel
