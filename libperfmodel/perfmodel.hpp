#pragma once
// Umbrella header for users. Library code includes the specific headers it needs instead.

#include <libperfmodel/error.hpp>
#include <libperfmodel/units/any_quantity.hpp>
#include <libperfmodel/units/dimension.hpp>
#include <libperfmodel/units/format.hpp>
#include <libperfmodel/units/parse.hpp>
#include <libperfmodel/units/quantity.hpp>
#include <libperfmodel/version.hpp>
#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/figure.hpp>
#include <libperfmodel/hw/system.hpp>
#include <libperfmodel/hw/efficiency.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/export_control.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/topology.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/power.hpp>
#include <libperfmodel/model/search.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/roofline.hpp>
#include <libperfmodel/model/system_metrics.hpp>
#include <libperfmodel/workload/model.hpp>
#include <libperfmodel/workload/ops.hpp>
