#!/usr/bin/env python3
"""Sign-in and result-lookup latency (p50/p99) against a running labguard, with no slow
connections and then with N slow HTTPS connections held by scripts/slow-connections.py in
its own process (reopened as the server closes them at the header deadline), in one run.

usage: listener-bench.py BASE_URL TOKEN SIGNIN_USER SIGNIN_PASSWORD [--slow 1000] [--n 200]
"""
import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ",".join(f"127.0.0.{i}" for i in range(2, 10))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(u, token, user, password, n):
    ctx = ssl._create_unverified_context()
    lookup, signin = [], []
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", "/api/v1/results?accession=A00000010",
                  headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
        lookup.append((time.perf_counter() - t) * 1000)
    for _ in range(max(10, n // 10)):
        # A fresh connection each time, as a browser signing in would open.
        s = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
        t = time.perf_counter()
        s.request("POST", "/api/v1/auth/sign-in", json.dumps({"username": user, "password": password}),
                  {"Content-Type": "application/json"})
        r = s.getresponse()
        r.read()
        assert r.status < 300, r.status
        signin.append((time.perf_counter() - t) * 1000)
        s.close()
    return {
        "lookup_p50_ms": round(pct(lookup, 50), 2), "lookup_p99_ms": round(pct(lookup, 99), 2),
        "signin_p50_ms": round(pct(signin, 50), 2), "signin_p99_ms": round(pct(signin, 99), 2),
        "lookups": len(lookup), "signins": len(signin),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("token")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--slow", type=int, default=1000)
    p.add_argument("--n", type=int, default=200)
    a = p.parse_args()
    u = urllib.parse.urlparse(a.base)
    print(json.dumps({"slow_connections": 0, **measure(u, a.token, a.user, a.password, a.n)}), flush=True)
    gen = subprocess.Popen([sys.executable, os.path.join(HERE, "slow-connections.py"), "https",
                            u.hostname, str(u.port), "--count", str(a.slow), "--sources", SOURCES,
                            "--maintain", "120"], stdout=subprocess.PIPE, text=True)
    try:
        held = json.loads(gen.stdout.readline())
        assert held["event"] == "held", held
        print(json.dumps({"slow_connections": a.slow, **measure(u, a.token, a.user, a.password, a.n)}), flush=True)
    finally:
        gen.kill()
        gen.wait()


if __name__ == "__main__":
    main()
