# CTest checks of the HTTP examples (see concur_example_test in CMakeLists.txt); each runs
# against http::mock_server on loopback. Shared by the client and server sides: append only.
concur_example_test(http_sequential_api PROGRAM http_sequential_api ARGS --scale 0.01
  EXPECT "/posts\n200\n" "/users\n200\n" "API calls made in: [0-9.]+" "200 responses: 6 of 6")
concur_example_test(http_session_count PROGRAM http_session_count ARGS --scale 0.01
  EXPECT "200 \\(100 items\\)" "connections opened: 1" "Success count: 6")
concur_example_test(http_gather_delay PROGRAM http_gather_delay ARGS --scale 0.01
  EXPECT "statuses: 200 200 200" "requests in flight at once: 3" "gather finished in: [0-9.]+ s")
concur_example_test(http_fetch_pages PROGRAM http_fetch_pages ARGS --scale 0.01
  EXPECT "/page/1: <!DOCTYPE html>|/page/1: <html" "pages fetched: 4")
concur_example_test(http_hello_server PROGRAM http_hello_server
  EXPECT "GET / -> 200 concur Hello, world" "GET /alice -> 200 concur Hello, alice"
         "GET /api/status -> 200 concur .*\"status\":\"ok\"" "GET /no/such/page -> 404"
         "requests served: 4"
  REJECT "request failed")
