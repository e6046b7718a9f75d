#pragma once
// What every module of concur shares: errors, the clock, file descriptors.
#include <concur/core/clock.hpp>
#include <concur/core/error.hpp>
#include <concur/core/fd.hpp>
