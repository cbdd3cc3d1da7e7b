// A minimal downstream program: proves headers, library and dependencies resolve via
// find_package(libperfmodel).
#include <iostream>

#include <libperfmodel/perfmodel.hpp>

int main() {
  using namespace perfmodel;
  const Bandwidth hbm = units::parse_as<units::dim::bandwidth>("3.35 TB/s");
  const Bytes moved = hbm * Seconds{1e-3};
  std::cout << "perfmodel " << version_string << ": 3.35 TB/s x 1 ms = " << units::format(moved)
            << "\n";
  return (moved.value() > 3.349999e9 && moved.value() < 3.350001e9) ? 0 : 1;
}
