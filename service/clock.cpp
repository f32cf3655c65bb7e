// The wall clock (clock.hpp).
#include "verifyd/clock.hpp"

#include <chrono>

namespace verifyd {

int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace verifyd
