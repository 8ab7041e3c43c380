// Fixture: map/ reaching into train/ (allowed by layer, barred by the design).
#include "train/high.h"
#include "eval/side.h"
