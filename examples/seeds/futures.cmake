# CTest checks of the concurrent.futures examples (see concur_example_test in CMakeLists.txt).
concur_example_test(futures_download PROGRAM futures_download
  ARGS --scale 0.2
  EXPECT "Downloading url1.com\\.\\.\\." "Downloading url4.com\\.\\.\\."
         "Content from url1.com\nContent from url2.com\nContent from url3.com\nContent from url4.com\n"
         "downloads in progress at the same time: 4 of 4"
         "about 1 s instead of 4: yes"
  REJECT "about 1 s instead of 4: no")

concur_example_test(futures_return_after PROGRAM futures_return_after
  ARGS --scale 0.05
  EXPECT "future.done\\(\\) right after submit: False"
         "future.done\\(\\) after 5 s: True"
         "future.result\\(\\): hello"
         "pending, then done, then the message: yes")
