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

}  // namespace perfmodel::detail
