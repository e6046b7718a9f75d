#pragma once
// concur::mp: Python's multiprocessing for C++ (processes for isolation: a crash, a leak or a
// hang in a worker cannot take the program down).
#include "concur/mp/codec.hpp"
#include "concur/mp/connection.hpp"
#include "concur/mp/errors.hpp"
#include "concur/mp/managers.hpp"
#include "concur/mp/pool.hpp"
#include "concur/mp/process.hpp"
#include "concur/mp/process_pool_executor.hpp"
#include "concur/mp/queue.hpp"
#include "concur/mp/shared_memory.hpp"
#include "concur/mp/sharedctypes.hpp"
#include "concur/mp/synchronize.hpp"
