// Fixture: allowed (a higher layer including lower ones, a header next to it).
#include "engine/low.h"
#include "local.h"
