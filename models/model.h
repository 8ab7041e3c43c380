// Umbrella header of cytocon_models: presets, the networks, weight files.
#pragma once
#include "models/network.h"
#include "models/preset.h"
#include "models/weights.h"
