#pragma once
// Umbrella header for users. Library code includes the specific headers it needs instead.

#include <libperfmodel/error.hpp>
#include <libperfmodel/units/any_quantity.hpp>
#include <libperfmodel/units/dimension.hpp>
#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>
#include <libperfmodel/units/quantity.hpp>
#include <libperfmodel/version.hpp>
