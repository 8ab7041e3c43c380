// Fixture: train/ reaching sideways into eval/.
#pragma once
#include "eval/side.h"
#include "engine/low.h"
