// Fixture: the emulator including the project.
#pragma once
#include "engine/low.h"
