#pragma once
// concur::threading: what Python's threading and queue modules have and the C++ standard
// library lacks. For Thread, Lock, RLock, Condition, Semaphore and Barrier use std (see
// docs/python-to-cpp.md).
#include <concur/threading/errors.hpp>
#include <concur/threading/event.hpp>
#include <concur/threading/queue.hpp>
#include <concur/threading/timer.hpp>
