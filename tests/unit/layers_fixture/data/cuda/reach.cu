// Fixture: the data layer reaching into the emulator.
#include "emulator/cuda_emu.h"
