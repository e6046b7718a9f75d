#!/usr/bin/env python3
"""aiohttp_ws_server.py PORT: the aiohttp anchor of bench/ws_echo_vs.sh.

A WebSocket echo server at /ws on 127.0.0.1 (every text or binary message sent back as it
came), written as the aiohttp documentation shows it, without compression. Prints
"listening PORT" once it accepts (PORT 0 picks a free one) and runs until SIGTERM or SIGINT.
"""
import asyncio
import signal
import sys

from aiohttp import WSMsgType, web


async def echo(request):
    # compress=False: the load client offers no permessage-deflate anyway; this makes it plain.
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def main(port):
    app = web.Application()
    app.router.add_get("/ws", echo)
    # No access log: a line per connection would cost what the C++ peers do not pay.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"listening {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) > 65535:
        sys.exit("usage: aiohttp_ws_server.py PORT (0-65535)")
    asyncio.run(main(int(sys.argv[1])))
