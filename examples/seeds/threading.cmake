# CTest checks of the threading examples (see concur_example_test in CMakeLists.txt).
concur_example_test(threading_five_threads PROGRAM threading_five_threads
  ARGS --scale 0.02 --seed 7
  EXPECT "^All Threads are queued, let's see when they finish!\n"
         "I am Worker 0, I slept for [1-9] seconds" "I am Worker 1, I slept for [1-9] seconds"
         "I am Worker 2, I slept for [1-9] seconds" "I am Worker 3, I slept for [1-9] seconds"
         "I am Worker 4, I slept for [1-9] seconds"
         "the workers slept at the same time: yes")

concur_example_test(threading_join PROGRAM threading_join
  ARGS --scale 0.1
  EXPECT "\\[Task1\\] Starting" "\\[Task2\\] Starting" "\\[Task1\\] Completed!"
         "\\[Task2\\] Completed!" "All tasks completed" "the two sleeps overlapped: yes")

concur_example_test(threading_lock_counter PROGRAM threading_lock_counter
  ARGS --scale 0.01
  EXPECT "with std::mutex: total=400000 " "with std::atomic fetch_add: total=400000"
         "without a lock \\(read, then write\\): total=[0-9]+, lost [0-9]+ updates"
         "locked totals are exact")

concur_example_test(threading_local PROGRAM threading_local
  ARGS --scale 0.01
  EXPECT "worker 0: thread_local user=user0," "worker 3: thread_local user=user3,"
         "every worker saw its own thread_local value: yes"
         "someone else's value in the shared variable: 3 of 4"
         "main thread's thread_local user is still: main"
         "thread_local objects destroyed at thread exit: 4")

concur_example_test(threading_queue PROGRAM threading_queue
  ARGS --scale 0.01
  EXPECT "Working on 0 " "Finished 29\n" "All work completed\n"
         "jobs processed exactly once: 30 of 30")

concur_example_test(threading_timer PROGRAM threading_timer
  ARGS --scale 0.01
  EXPECT "^hello, world\nfirst timer fired: yes\n"
         "second timer cancelled before firing: yes"
         "hello, timer\nhello, timer\n")

# Every example parses its command line with example_options.hpp: a bad value or an option the
# example does not take is a usage error (status 2), never a silent default.
concur_example_test(bad_scale PROGRAM threading_join ARGS --scale -1 RC 2
  EXPECT_ERR "--scale wants a positive number, got '-1'" "usage: .*threading_join \\[--scale S\\]")
concur_example_test(option_not_taken PROGRAM threading_join ARGS --seed 3 RC 2
  EXPECT_ERR "unknown argument '--seed'")
concur_example_test(bad_seed PROGRAM threading_five_threads ARGS --seed x7 RC 2
  EXPECT_ERR "--seed wants a non-negative integer, got 'x7'")
concur_example_test(missing_value PROGRAM threading_five_threads ARGS --scale RC 2
  EXPECT_ERR "--scale needs a value")
