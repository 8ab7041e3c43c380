// Fixture: allowed (eval/ includes nothing).
#pragma once
