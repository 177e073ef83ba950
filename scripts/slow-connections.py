#!/usr/bin/env python3
"""Slow clients against a listener, from their own process: each opens a connection (TLS
for `https`, plain TCP for `tcp` and `idle`), sends the start of a request or frame (or,
for `idle`, nothing) and then nothing more, and waits for the server to close it. Used by crates/labguard/tests/it/adversarial_listeners.rs
and scripts/listener-bench.sh.

usage: slow-connections.py {https|tcp|idle} HOST PORT --count N [--sources 127.0.0.2,127.0.0.3]
           [--wait SECS] [--maintain SECS]

Connections are spread round-robin over the --sources addresses (any 127.x.y.z works on
Linux loopback), so per-source caps can be exercised or avoided. Prints one JSON line once
every connection was attempted ({"event": "held", "open": .., "refused": ..}), then one when
all are closed or --wait passed ({"event": "done", "closed_by_server": .., "still_open": ..,
"close_after_min": s, "close_after_max": s}). With --maintain SECS it instead keeps N slow
connections open for SECS, reopening each one the server closes, and prints the "done" line
with how many were reopened. Every loop is bounded by the time limits.
"""
import argparse
import asyncio
import json
import resource
import ssl
import sys
import time

# The first bytes of a request (or of an MLLP frame) that never completes.
PARTIAL = {
    "https": b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
    "tcp": b"\x0bMSH|^~\\&|SLOW",
    # Connect and send nothing at all (e.g. an idle socket on the TLS port).
    "idle": b"",
}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def open_one(args, src, ctx):
    kw = {"local_addr": (src, 0)}
    if ctx is not None:
        kw.update(ssl=ctx, server_hostname="localhost", ssl_handshake_timeout=20)
    r, w = await asyncio.wait_for(asyncio.open_connection(args.host, args.port, **kw), 25)
    if PARTIAL[args.mode]:
        w.write(PARTIAL[args.mode])
        await w.drain()
    return r, w


async def wait_closed(r, deadline, t0):
    """Seconds from `t0` (the connection opened) until the server closed it, or None if it
    stayed open."""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = await asyncio.wait_for(r.read(4096), left)
            if not data:
                return time.monotonic() - t0
    except asyncio.TimeoutError:
        return None
    except (ConnectionError, ssl.SSLError, OSError):
        return time.monotonic() - t0


async def attempt(args, i, ctx, sem):
    src = args.sources[i % len(args.sources)]
    async with sem:
        try:
            r, w = await open_one(args, src, ctx)
            t0 = time.monotonic()
        except (ConnectionError, ssl.SSLError, OSError, asyncio.TimeoutError):
            return None
    # A connection closed by the server before the handshake was even done (a cap) shows
    # here as an immediate EOF on the first read.
    if args.mode != "https":
        try:
            data = await asyncio.wait_for(r.read(1), 0.3)
            if not data:
                w.close()
                return None
        except asyncio.TimeoutError:
            pass
        except (ConnectionError, OSError):
            return None
    return r, w, t0


async def one_shot(args, ctx):
    sem = asyncio.Semaphore(64)
    conns = await asyncio.gather(*(attempt(args, i, ctx, sem) for i in range(args.count)))
    held = [c for c in conns if c is not None]
    print(json.dumps({"event": "held", "open": len(held), "refused": args.count - len(held)}),
          flush=True)
    deadline = time.monotonic() + args.wait
    closes = await asyncio.gather(*(wait_closed(r, deadline, t0) for r, _, t0 in held))
    done = [c for c in closes if c is not None]
    print(json.dumps({
        "event": "done",
        "closed_by_server": len(done),
        "still_open": len(closes) - len(done),
        "close_after_min": round(min(done), 3) if done else None,
        "close_after_max": round(max(done), 3) if done else None,
    }), flush=True)
    for _, w, _ in held:
        w.close()


async def maintain(args, ctx):
    """Keeps `count` slow connections open until the time is up, reopening closed ones."""
    end = time.monotonic() + args.maintain
    sem = asyncio.Semaphore(64)
    reopened = 0
    held_once = asyncio.Event()
    started = 0

    async def slot(i):
        nonlocal reopened, started
        first = True
        while time.monotonic() < end:
            c = await attempt(args, i, ctx, sem)
            if first:
                started += 1
                if started == args.count:
                    held_once.set()
                first = False
            else:
                reopened += 1
            if c is None:
                await asyncio.sleep(0.2)
                continue
            r, w, t0 = c
            await wait_closed(r, end, t0)
            w.close()

    tasks = [asyncio.ensure_future(slot(i)) for i in range(args.count)]
    await asyncio.wait_for(held_once.wait(), args.maintain)
    print(json.dumps({"event": "held", "open": args.count, "refused": 0}), flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"event": "done", "reopened": reopened}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["https", "tcp", "idle"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sources", default="127.0.0.1")
    p.add_argument("--wait", type=float, default=30.0)
    p.add_argument("--maintain", type=float, default=0.0)
    args = p.parse_args()
    args.sources = args.sources.split(",")
    raise_nofile()
    ctx = None
    if args.mode == "https":
        # The test server's certificate is self-signed; this client tests the server, not
        # the certificate.
        ctx = ssl._create_unverified_context()
    run = maintain if args.maintain > 0 else one_shot
    asyncio.run(run(args, ctx))


if __name__ == "__main__":
    sys.exit(main())
