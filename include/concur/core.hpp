#pragma once
// What every module of concur shares: errors, the clock, file descriptors, the mutex that
// -Wthread-safety checks.
#include <concur/core/checked_mutex.hpp>
#include <concur/core/clock.hpp>
#include <concur/core/error.hpp>
#include <concur/core/fd.hpp>
