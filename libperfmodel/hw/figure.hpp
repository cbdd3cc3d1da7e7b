#pragma once
// A catalog figure: a value plus where it comes from and how sure we are. Unknown is a state,
// never a zero: reading an unknown or absent figure with require() throws, naming part and field.

#include <string>
#include <string_view>
#include <utility>

#include <libperfmodel/error.hpp>

namespace perfmodel::hw {

enum class Confidence { official, vendor_paper, analyst, rumour, derived };

/// "official", "vendor-paper", "analyst", "rumour", "derived".
std::string_view to_string(Confidence c);

struct Provenance {
  std::string source;        ///< URL, or paper + table, or datasheet name
  Confidence confidence = Confidence::official;
  std::string derived_from;  ///< set when confidence == derived
  std::string note;
};

template <class T>
class Figure {
 public:
  enum class State { absent, unknown, known };

  Figure() = default;
  static Figure known_value(T v, Provenance p, std::string field = {}) {
    Figure f;
    f.state_ = State::known;
    f.value_ = std::move(v);
    f.provenance_ = std::move(p);
    f.field_ = std::move(field);
    return f;
  }
  /// Not in the part at all (still absent), but remembering which field, for error messages.
  static Figure absent_field(std::string field) {
    Figure f;
    f.field_ = std::move(field);
    return f;
  }
  static Figure unknown(std::string note, std::string field = {}) {
    Figure f;
    f.state_ = State::unknown;
    f.provenance_.note = std::move(note);
    f.field_ = std::move(field);
    return f;
  }

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool known() const { return state_ == State::known; }
  [[nodiscard]] bool is_unknown() const { return state_ == State::unknown; }
  [[nodiscard]] bool absent() const { return state_ == State::absent; }
  /// JSON path of the field within its part, e.g. "compute.bf16.matrix".
  [[nodiscard]] const std::string& field() const { return field_; }
  [[nodiscard]] const Provenance& provenance() const { return provenance_; }

  /// The value; throws InvalidArgument naming `part` and the field when unknown or absent
  /// (`field` names it where the figure was built without its path, e.g. in a what-if part).
  [[nodiscard]] const T& require(std::string_view part, std::string_view field = {}) const {
    if (state_ == State::known) return value_;
    std::string msg = std::string(part) + ": " +
                      (!field_.empty() ? field_ : !field.empty() ? std::string(field) : std::string("figure"));
    if (state_ == State::unknown) {
      msg += " is unknown";
      if (!provenance_.note.empty()) msg += " (" + provenance_.note + ")";
    } else {
      msg += " is not given for this part";
    }
    throw InvalidArgument(msg + "; supply an override or a what-if part that sets it");
  }
  /// The value or `fallback` when not known.
  [[nodiscard]] T value_or(T fallback) const { return known() ? value_ : fallback; }

 private:
  State state_ = State::absent;
  T value_{};
  Provenance provenance_;
  std::string field_;
};

}  // namespace perfmodel::hw
