#!/usr/bin/env python3
"""Signs in to a running labguard (password, then a TOTP code from pyotp) and prints an
API token for the account. Used by scripts/schemathesis.sh and scripts/http-bench.sh.

usage: signin.py BASE_URL USERNAME PASSWORD TOTP_SECRET
"""
import http.client
import json
import ssl
import sys
import time
import urllib.parse

import secrets

import pyotp


def main():
    base, user, password, secret = sys.argv[1:5]
    u = urllib.parse.urlparse(base)
    # The test server's certificate is self-signed and made at first start.
    ctx = ssl._create_unverified_context()
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)

    def call(path, body, cookie=None, csrf=None):
        h = {"Content-Type": "application/json"}
        if cookie:
            h["Cookie"] = cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        conn.request("POST", path, json.dumps(body), h)
        r = conn.getresponse()
        raw = r.read()
        data = json.loads(raw) if raw else None
        if r.status >= 300:
            sys.exit(f"{path}: {r.status} {data}")
        ck = r.getheader("Set-Cookie")
        return data, (ck.split(";")[0] if ck else cookie)

    v, cookie = call("/api/v1/auth/sign-in", {"username": user, "password": password})
    if v["stage"] != "mfa":
        sys.exit(f"unexpected stage {v['stage']}")
    totp = pyotp.TOTP(secret)
    # Codes are single-use per 30 s step: wait for a fresh step if this one was used.
    v, cookie = call("/api/v1/auth/mfa", {"code": totp.now()}, cookie, v["csrf_token"])
    # Accounts from `labguard users add` carry a one-time password: replace it first.
    csrf = v["csrf_token"]
    new = "scripted " + secrets.token_urlsafe(24)
    call("/api/v1/me/password", {"current_password": password, "new_password": new}, cookie, csrf)
    v, _ = call("/api/v1/tokens", {"label": "scripts", "days": 1}, cookie, csrf)
    print(v["token"])


if __name__ == "__main__":
    main()
