// Fixture: a header next to its includer.
#pragma once
