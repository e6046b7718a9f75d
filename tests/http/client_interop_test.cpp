// Our client against servers we did not write: nginx (Debian nginx-light) and a Python
// aiohttp server. Each test starts its peer on an ephemeral loopback port in a temp dir and
// stops it afterwards; a missing binary skips the test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "concur/http.hpp"
#include "net/raw_server.hpp"
#include "net/test_certs.hpp"

extern char** environ;

namespace aio = concur::aio;
namespace http = concur::http;
using namespace std::chrono_literals;

namespace {

// A child process with its stdout on a pipe; SIGTERM and reaped on destruction.
class child_process {
 public:
  explicit child_process(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + argv[0]);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    ::close(out_);
  }
  // One line of the child's stdout, waiting at most `limit`.
  std::string read_line(std::chrono::milliseconds limit) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

std::uint16_t free_port() {
  concur_test::raw_server probe([](int) {});
  return probe.port();
}

// Waits until something accepts on 127.0.0.1:port (bounded).
bool wait_listening(std::uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(25ms);
  }
  return false;
}

const char* nginx_binary() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/bin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return nullptr;
}

}  // namespace

TEST(ClientInterop, AgainstNginx) {
  const char* nginx = nginx_binary();
  if (!nginx) GTEST_SKIP() << "nginx is not installed";
  concur_test::temp_dir dir;
  auto root = dir.path();
  // nginx's workers may run as another user (nobody) when the tests run as root.
  std::filesystem::permissions(
      root, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                std::filesystem::perms::others_exec);
  std::filesystem::create_directories(root / "logs");
  std::filesystem::create_directories(root / "www");
  std::ofstream(root / "www" / "post.json") << R"({"id":1,"title":"hello"})";
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\n";
  std::ofstream(root / "www" / "big.txt") << big;
  auto files = concur_test::make_self_signed(root);
  auto port = free_port();
  auto tls_port = free_port();
  std::ofstream(root / "nginx.conf")
      << "worker_processes 1;\n"
      << "pid " << (root / "nginx.pid").string() << ";\n"
      << "error_log " << (root / "logs/error.log").string() << ";\n"
      << "events { worker_connections 256; }\n"
      << "http {\n  access_log off;\n"
      << "  client_body_temp_path " << (root / "tmp").string() << ";\n"
      << "  gzip on; gzip_types text/plain; gzip_min_length 0;\n"
      << "  server {\n    listen 127.0.0.1:" << port << ";\n"
      << "    listen 127.0.0.1:" << tls_port << " ssl;\n"
      << "    ssl_certificate " << files.cert_file << ";\n"
      << "    ssl_certificate_key " << files.key_file << ";\n"
      << "    root " << (root / "www").string() << ";\n"
      << "    location = /old { return 301 /post.json; }\n"
      << "    location = /echo { return 200 "
         "'$request_method $request_uri $http_x_token'; }\n"
      << "  }\n}\n";
  child_process server(
      {nginx, "-p", root.string(), "-c", (root / "nginx.conf").string(), "-g", "daemon off;"});
  ASSERT_TRUE(wait_listening(port)) << "nginx did not start";
  ASSERT_TRUE(wait_listening(tls_port));
  std::string base = "http://127.0.0.1:" + std::to_string(port);

  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(base + "/post.json");
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.headers().get("server").value_or("").substr(0, 5), "nginx");
    EXPECT_EQ((co_await r.json())["title"], "hello");

    auto g = co_await session.get(base + "/big.txt");
    EXPECT_EQ(g.headers().get("content-encoding").value_or(""), "gzip");  // chunked + gzip
    EXPECT_EQ(co_await g.text(), big);

    auto moved = co_await session.get(base + "/old");
    EXPECT_EQ(moved.status(), 200);
    EXPECT_EQ(moved.history().size(), 1u);

    http::request_options o;
    o.with_param("a", "b c").with_header("X-Token", "t1");
    auto e = co_await session.get(base + "/echo", o);
    EXPECT_EQ(co_await e.text(), "GET /echo?a=b%20c t1");

    auto missing = co_await session.get(base + "/nope");
    EXPECT_EQ(missing.status(), 404);
    EXPECT_THROW(missing.raise_for_status(), http::http_error);

    // Many requests over a few keep-alive connections, concurrently.
    http::session_options so;
    so.limit = 4;
    http::client_session pooled(so);
    int ok = 0;
    auto one = [&]() -> aio::task<void> {
      for (int i = 0; i < 25; ++i) {
        auto x = co_await pooled.get(base + "/post.json");
        co_await x.read();
        ok += x.status() == 200;
      }
    };
    std::vector<aio::task_handle<void>> ts;
    for (int i = 0; i < 8; ++i) ts.push_back(aio::create_task(one()));
    for (auto& t : ts) co_await t;
    EXPECT_EQ(ok, 200);
    EXPECT_LE(pooled.connections_opened(), 4u);

    // HTTPS: rejected by default, accepted with the CA given.
    std::string https = "https://localhost:" + std::to_string(tls_port) + "/post.json";
    EXPECT_THROW(co_await session.get(https), concur::net::tls_error);
    http::session_options trusting;
    trusting.tls.ca_file = files.cert_file;
    http::client_session secure(trusting);
    auto s = co_await secure.get(https);
    EXPECT_EQ((co_await s.json())["id"], 1);
  }());

  // The blocking client too.
  auto b = http::get(base + "/post.json");
  EXPECT_EQ(b.json()["id"], 1);
}

TEST(ClientInterop, AgainstPythonAiohttpServer) {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0) GTEST_SKIP() << "python3 is not installed";
  concur_test::temp_dir dir;
  auto script = dir.path() / "server.py";
  std::ofstream(script) << R"PY(
import asyncio, sys
try:
    from aiohttp import web
except ImportError:
    print("NOAIOHTTP", flush=True)
    sys.exit(0)

async def posts(request):
    return web.json_response({"id": int(request.match_info["id"]), "title": "hello"})

async def echo(request):
    body = await request.json()
    return web.json_response({"got": body, "q": request.query.get("q", "")}, status=201)

async def chunked(request):
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for i in range(50):
        await resp.write(("part%d;" % i).encode())
    await resp.write_eof()
    return resp

async def compressed(request):
    resp = web.Response(text="z" * 5000)
    resp.enable_compression(web.ContentCoding.deflate)
    return resp

async def redirect(request):
    raise web.HTTPFound("/posts/7")

async def form(request):
    data = await request.post()
    fields = {}
    for name, value in data.items():
        if isinstance(value, web.FileField):
            content = value.file.read()
            fields[name] = {"filename": value.filename, "content_type": value.content_type,
                            "size": len(content), "head": content[:8].decode("latin-1")}
        else:
            fields[name] = value
    return web.json_response({"content_type": request.content_type, "fields": fields})

async def upload(request):
    body = await request.read()
    return web.json_response({"te": request.headers.get("Transfer-Encoding", ""),
                              "size": len(body), "head": body[:12].decode("latin-1")})

async def main():
    app = web.Application()
    app.add_routes([web.get("/posts/{id}", posts), web.post("/echo", echo),
                    web.get("/chunked", chunked), web.get("/deflate", compressed),
                    web.get("/redirect", redirect), web.post("/form", form),
                    web.post("/upload", upload)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
)PY";
  child_process server({python, script.string()});
  std::string line = server.read_line(20s);
  if (line == "NOAIOHTTP") GTEST_SKIP() << "python3-aiohttp is not installed";
  ASSERT_FALSE(line.empty()) << "the aiohttp server did not start";
  std::string base = "http://127.0.0.1:" + line;

  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    auto r = co_await session.get(base + "/posts/3");
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ((co_await r.json())["id"], 3);

    http::request_options o;
    o.with_json({{"title", "foo"}}).with_param("q", "x");
    auto p = co_await session.post(base + "/echo", o);
    EXPECT_EQ(p.status(), 201);
    auto j = co_await p.json();
    EXPECT_EQ(j["got"]["title"], "foo");
    EXPECT_EQ(j["q"], "x");

    auto c = co_await session.get(base + "/chunked");
    std::string all = co_await c.text();
    EXPECT_EQ(all.substr(0, 6), "part0;");
    EXPECT_EQ(all.substr(all.size() - 7), "part49;");

    auto d = co_await session.get(base + "/deflate");
    EXPECT_EQ(d.headers().get("content-encoding").value_or(""), "deflate");
    EXPECT_EQ(co_await d.text(), std::string(5000, 'z'));

    auto red = co_await session.get(base + "/redirect");
    EXPECT_EQ((co_await red.json())["id"], 7);
    EXPECT_EQ(session.connections_opened(), 1u);

    // Bodies aiohttp's own parsers read: a urlencoded form, a multipart form with a file, a
    // chunked upload and a file upload.
    http::form_data plain;
    plain.add_field("q", "a b&c");
    auto f1 = co_await session.post(base + "/form", http::request_options().with_form_data(plain));
    auto j1 = co_await f1.json();
    EXPECT_EQ(j1["content_type"], "application/x-www-form-urlencoded");
    EXPECT_EQ(j1["fields"]["q"], "a b&c");

    const auto upload = dir.path() / "report 1.csv";
    std::ofstream(upload, std::ios::binary) << "id,value\n" << std::string(300000, 'v');
    http::form_data form;
    form.add_field("title", "quarterly").add_file("report", upload, "text/csv");
    auto f2 = co_await session.post(base + "/form", http::request_options().with_form_data(form));
    auto j2 = co_await f2.json();
    EXPECT_EQ(j2["content_type"], "multipart/form-data");
    EXPECT_EQ(j2["fields"]["title"], "quarterly");
    EXPECT_EQ(j2["fields"]["report"]["filename"], "report 1.csv");
    EXPECT_EQ(j2["fields"]["report"]["content_type"], "text/csv");
    EXPECT_EQ(j2["fields"]["report"]["size"], 9 + 300000);
    EXPECT_EQ(j2["fields"]["report"]["head"], "id,value");

    int piece = 0;
    auto source = [&piece]() -> aio::task<std::string> {
      if (piece == 20) co_return std::string();
      co_return "piece " + std::to_string(piece++) + ";";
    };
    auto u1 = co_await session.post(base + "/upload", http::request_options().with_stream(source));
    auto k1 = co_await u1.json();
    EXPECT_EQ(k1["te"], "chunked");
    EXPECT_EQ(k1["head"], "piece 0;piec");
    auto u2 = co_await session.post(base + "/upload", http::request_options().with_file(upload));
    auto k2 = co_await u2.json();
    EXPECT_EQ(k2["size"], 9 + 300000);
  }());
}

TEST(ClientInterop, WebSocketAgainstPythonAiohttpServer) {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0) GTEST_SKIP() << "python3 is not installed";
  concur_test::temp_dir dir;
  auto script = dir.path() / "ws_server.py";
  std::ofstream(script) << R"PY(
import asyncio, sys
try:
    from aiohttp import web, WSMsgType
except ImportError:
    print("NOAIOHTTP", flush=True)
    sys.exit(0)

async def echo(request):
    ws = web.WebSocketResponse(protocols=("v2", "v1"))
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            if msg.data == "bye":
                await ws.close(code=4002, message=b"as asked")
            else:
                await ws.send_str("echo:" + msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data[::-1])
    return ws

async def main():
    app = web.Application()
    app.add_routes([web.get("/ws", echo)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
)PY";
  child_process server({python, script.string()});
  std::string first = server.read_line(20s);
  if (first == "NOAIOHTTP") GTEST_SKIP() << "python3-aiohttp is not installed";
  ASSERT_FALSE(first.empty()) << "the aiohttp server did not start";
  const std::string url = "ws://127.0.0.1:" + first + "/ws";
  aio::run([&]() -> aio::task<void> {
    http::client_session session;
    for (bool compress : {false, true}) {
      http::ws_connect_options o;
      o.ws.compress = compress;
      o.ws.protocols = {"v1", "v2"};
      auto ws = co_await session.ws_connect(url, std::move(o));
      EXPECT_EQ(ws.compress(), compress);
      EXPECT_EQ(ws.protocol(), "v1");  // aiohttp takes the first the client lists
      const std::string text(3000, 'a');
      co_await ws.send_str(text);
      EXPECT_EQ(co_await ws.receive_str(), "echo:" + text);
      co_await ws.send_bytes("abc");
      EXPECT_EQ(co_await ws.receive_bytes(), "cba");
      co_await ws.send_str("bye");
      auto m = co_await ws.receive();
      EXPECT_EQ(m.type, http::ws_msg_type::close);
      EXPECT_EQ(m.close_code, 4002);
      EXPECT_EQ(m.data, "as asked");
      auto gone = co_await ws.receive();
      EXPECT_EQ(gone.type, http::ws_msg_type::closed);
    }
    EXPECT_EQ(session.connections_in_use(), 0u);
  }());
}
