// Fixture: allowed (the emulator's tests include anything).
#include "emulator/cuda_emu.h"
#include "train/high.h"
