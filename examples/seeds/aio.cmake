# CTest checks of the asyncio examples (see concur_example_test in CMakeLists.txt). The claims
# are checked structurally (how many coroutines were in flight, finish order), not by timing.
concur_example_test(aio_running_predictions PROGRAM aio_running_predictions
  ARGS --scale 0.01
  EXPECT "12.31\n44\n" "44\n12.31\n"
         "two awaits completes in: [0-9.]+ s" "two awaits: 1 prediction\\(s\\) in flight at once"
         "await aio::gather\\(\\) completes in: [0-9.]+ s"
         "gather: 2 prediction\\(s\\) in flight at once")

concur_example_test(aio_display_date PROGRAM aio_display_date
  ARGS --scale 0.01 --seconds 5 --seed 3
  EXPECT "Loop: 1 Time: [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] " "Loop: 2 Time: [0-9][0-9][0-9][0-9]-"
         "both tasks ran on one loop, interleaved: yes")

concur_example_test(aio_gather_abc PROGRAM aio_gather_abc
  ARGS --scale 0.02
  EXPECT "\\[A\\] Starting...\n\\[B\\] Starting...\n\\[C\\] Starting..."
         "Results: \\['A', 'B', 'C'\\]" "finish order: BAC" "took [0-9.]+ s")

concur_example_test(aio_semaphore PROGRAM aio_semaphore
  ARGS --scale 0.01
  EXPECT "\\[Task-0\\] Executing" "\\[Task-9\\] Completed" "max concurrently executing: 3\n")
