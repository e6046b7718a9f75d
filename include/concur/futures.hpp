#pragma once
// concurrent.futures for C++: future/promise, thread_pool_executor, wait, as_completed.
#include <concur/futures/errors.hpp>
#include <concur/futures/executor.hpp>
#include <concur/futures/future.hpp>
#include <concur/futures/thread_pool_executor.hpp>
#include <concur/futures/wait.hpp>
