// The wall clock, one way for everyone who stamps or compares a time of day (Unix ms).
// Not for: durations and deadlines, which use std::chrono::steady_clock, nor the times
// that scripts decide, which are Redis's clock (lua/lib/common.lua).
#pragma once

#include <cstdint>

namespace verifyd {

int64_t wall_clock_ms();

}  // namespace verifyd
