// Internal (not installed): JSON text to a Boost.JSON value with located syntax errors.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include <libperfmodel/error.hpp>

namespace perfmodel::detail {

/// Parses one JSON text. A syntax error names `origin:line:column`; a UTF-8 byte-order mark,
/// which JSON does not allow, is named as such.
inline boost::json::value parse_json_text(std::string_view text, const std::string& origin) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    throw ConfigError(origin + ":1:1: malformed JSON: the file starts with a UTF-8 byte-order mark; save it without one");
  }
  boost::json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t n = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    const std::string_view read = text.substr(0, std::min(n, text.size()));
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(read.begin(), read.end(), '\n'));
    const std::size_t last = read.rfind('\n');
    const std::size_t col = 1 + (last == std::string_view::npos ? read.size() : read.size() - last - 1);
    throw ConfigError(origin + ":" + std::to_string(line) + ":" + std::to_string(col) + ": malformed JSON: " + ec.message());
  }
  return p.release();
}

/// A JSON value as an error message shows it: serialized (control characters escaped, so a NUL
/// cannot cut the message short), at most `limit` bytes, cut on a UTF-8 character boundary.
inline std::string show_json(const boost::json::value& v, std::size_t limit = 80) {
  std::string s = boost::json::serialize(v);
  if (s.size() <= limit) return s;
  std::size_t cut = limit - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return s.substr(0, cut) + "...";
}

/// A string as an error message shows it: quoted as JSON, like show_json.
inline std::string show_json(std::string_view text, std::size_t limit = 80) {
  return show_json(boost::json::value(boost::json::string(text)), limit);
}

}  // namespace perfmodel::detail
