#pragma once
// asyncio for C++20: the whole concur::aio module.
#include <concur/aio/bridge.hpp>
#include <concur/aio/errors.hpp>
#include <concur/aio/event_loop.hpp>
#include <concur/aio/future.hpp>
#include <concur/aio/gather.hpp>
#include <concur/aio/introspect.hpp>
#include <concur/aio/io.hpp>
#include <concur/aio/queue.hpp>
#include <concur/aio/sleep.hpp>
#include <concur/aio/sync.hpp>
#include <concur/aio/task.hpp>
#include <concur/aio/task_group.hpp>
#include <concur/aio/timeout.hpp>
