// Fixture: allowed (a program including everything below it).
#include "train/high.h"
#include "eval/side.h"
