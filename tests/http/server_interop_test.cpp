// Peers we did not write: curl and Python's aiohttp client against our server.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "concur/http/mock_api.hpp"
#include "concur/http/server.hpp"
#include "server_support.hpp"

namespace http = concur::http;
namespace aio = concur::aio;
using server_test::run_command;

namespace {

bool executable(const char* path) { return ::access(path, X_OK) == 0; }

http::application echo_app() {
  http::application app;
  app.get("/posts/{id}", [](http::web_request& req) -> aio::task<http::web_response> {
    co_return http::json_response(
        {{"id", std::stoi(std::string(req.match_info("id")))}, {"title", "hello"}});
  });
  app.post("/size", [](http::web_request& req) -> aio::task<http::web_response> {
    co_return http::json_response({{"size", req.body().size()}});
  });
  return app;
}

http::server_options local() {
  http::server_options o;
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

}  // namespace

TEST(ServerInterop, CurlGetPostAndKeepAlive) {
  if (!executable("/usr/bin/curl")) GTEST_SKIP() << "curl is not installed";
  http::server srv(echo_app(), local());
  srv.start();
  auto base = srv.url("");
  auto [rc, out] = run_command("/usr/bin/curl -s -i --max-time 10 " + base + "/posts/5");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"id":5,"title":"hello"})"), std::string::npos) << out;

  // Two URLs in one curl run reuse the connection.
  auto before = srv.stats().connections_accepted;
  std::tie(rc, out) =
      run_command("/usr/bin/curl -s --max-time 10 " + base + "/posts/1 " + base + "/posts/2");
  ASSERT_EQ(rc, 0);
  EXPECT_NE(out.find(R"("id":1)"), std::string::npos);
  EXPECT_NE(out.find(R"("id":2)"), std::string::npos);
  EXPECT_EQ(srv.stats().connections_accepted - before, 1u);

  // A 200 KB POST (curl sends Expect: 100-continue for large bodies).
  std::string file = ::testing::TempDir() + "concur_curl_body.bin";
  std::ofstream(file) << std::string(200 * 1024, 'z');
  std::tie(rc, out) =
      run_command("/usr/bin/curl -s --max-time 10 --data-binary @" + file + " " + base + "/size");
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out, R"({"size":204800})");

  // Over the body limit: 413.
  std::ofstream(file) << std::string(2 * 1024 * 1024, 'z');
  std::tie(rc, out) = run_command(
      "/usr/bin/curl -s -o /dev/null -w '%{http_code}' --max-time 10 "
      "--data-binary @" +
      file + " " + base + "/size");
  EXPECT_EQ(out, "413");
  std::remove(file.c_str());
}

TEST(ServerInterop, PythonAiohttpClient) {
  if (!executable("/usr/bin/python3") ||
      run_command("/usr/bin/python3 -c 'import aiohttp' 2>/dev/null").first != 0)
    GTEST_SKIP() << "/usr/bin/python3 with aiohttp is not available";
  http::mock_server mock;
  std::string script = ::testing::TempDir() + "concur_aiohttp_client.py";
  std::ofstream(script) << R"(
import asyncio, sys
import aiohttp

async def main(base):
    async with aiohttp.ClientSession() as session:
        async def fetch(path):
            async with session.get(base + path) as r:
                return r.status, await r.json()
        results = await asyncio.gather(*(fetch(f"/posts/{i}") for i in range(1, 21)))
        ids = sorted(body["id"] for status, body in results if status == 200)
        async with session.get(base + "/photos") as r:
            photos = len(await r.json())
        async with session.get(base + "/posts/1000") as r:
            missing = r.status
        async with session.post(base + "/post", json={"k": 1}) as r:
            echoed = (await r.json())["json"]["k"]
    print(f"ok={len(ids)} sum={sum(ids)} photos={photos} missing={missing} echoed={echoed}")

asyncio.run(main(sys.argv[1]))
)";
  auto [rc, out] =
      run_command("timeout 60 /usr/bin/python3 " + script + " " + mock.url("") + " 2>&1");
  std::remove(script.c_str());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok=20 sum=210 photos=5000 missing=404 echoed=1"), std::string::npos) << out;
}

TEST(ServerInterop, PythonAiohttpWebSocketClient) {
  if (!executable("/usr/bin/python3") ||
      run_command("/usr/bin/python3 -c 'import aiohttp' 2>/dev/null").first != 0)
    GTEST_SKIP() << "/usr/bin/python3 with aiohttp is not available";
  http::mock_server mock;
  std::string script = ::testing::TempDir() + "concur_aiohttp_ws_client.py";
  std::ofstream(script) << R"(
import asyncio, sys
import aiohttp

async def main(url):
    results = []
    async with aiohttp.ClientSession() as session:
        for compress in (0, 15):
            async with session.ws_connect(url, compress=compress, autoping=False) as ws:
                await ws.send_str("hello " * 100)
                m = await ws.receive()
                assert m.type == aiohttp.WSMsgType.TEXT and m.data == "hello " * 100, m
                await ws.send_bytes(bytes(range(256)) * 10)
                m = await ws.receive()
                assert m.type == aiohttp.WSMsgType.BINARY and m.data == bytes(range(256)) * 10, m
                await ws.ping(b"p")
                m = await ws.receive()
                assert m.type == aiohttp.WSMsgType.PONG and m.data == b"p", m
                results.append(f"compress={ws.compress}")
                await ws.close(code=4000)
                results.append(f"close={ws.close_code}")
    print(" ".join(results))

asyncio.run(main(sys.argv[1]))
)";
  auto [rc, out] =
      run_command("timeout 60 /usr/bin/python3 " + script + " " + mock.url("/ws") + " 2>&1");
  std::remove(script.c_str());
  ASSERT_EQ(rc, 0) << out;
  // aiohttp reports the close code the server answered with (1000, as aiohttp's own does).
  EXPECT_NE(out.find("compress=0 close=1000 compress=15 close=1000"), std::string::npos) << out;
}
