// Fixture for unit.layers.fixture: the lowest layer reaching up.
#pragma once
#include "train/high.h"
