// The Catch2 runner shared by every C++ test executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
