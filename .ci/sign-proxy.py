#!/usr/bin/env python3
"""A local HTTP proxy that signs every request it forwards, as docs/protocol.md says, so that
tools which cannot sign (sqlmap) can reach the signed routes of `miniguard serve --dev`.

    sign-proxy.py --upstream https://127.0.0.1:18443 --ca dev-cert.pem --listen 18480 --code dev:ci

It logs in once with the code, then forwards each request to the upstream with the session's
bearer token, a fresh timestamp and nonce, and the signature over exactly the bytes it sends.
Standard library only; for CI and local testing, never for production traffic.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import secrets
import ssl
import sys
import time
import urllib.parse

UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def _encode(raw: bytes) -> str:
    return "".join(chr(b) if b in UNRESERVED else "%%%02X" % b for b in raw)


def canonical_query(query: str) -> str:
    pairs = []
    for param in query.split("&"):
        if not param:
            continue
        key, _, value = param.partition("=")
        decode = lambda s: urllib.parse.unquote_to_bytes(s.replace("+", " "))
        pairs.append((_encode(decode(key)), _encode(decode(value))))
    pairs.sort(key=lambda kv: (kv[0].encode(), kv[1].encode()))
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(key: bytes, method: str, path: str, query: str, ts: str, nonce: str, body: bytes) -> str:
    canonical = "\n".join(
        [method, path, canonical_query(query), ts, nonce, hashlib.sha256(body).hexdigest()]
    )
    mac = hmac.new(key, canonical.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Upstream:
    def __init__(self, url: str, ca: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 443
        self.context = ssl.create_default_context(cafile=ca)

    def request(self, method, target, body=b"", headers=None):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.getheaders(), res.read()
        finally:
            conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--code", default="dev:sign-proxy")
    args = ap.parse_args()

    upstream = Upstream(args.upstream, args.ca)
    status, _, body = upstream.request(
        "POST",
        "/v1/auth/wechat/login",
        json.dumps({"code": args.code}).encode(),
        {"Content-Type": "application/json"},
    )
    if status != 200:
        print(f"sign-proxy: login failed: {status} {body[:200]!r}", file=sys.stderr)
        return 1
    session = json.loads(body)
    token, key = session["access_token"], b64url_decode(session["signing_key"])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            ts, nonce = str(int(time.time())), secrets.token_urlsafe(16)
            headers = {
                "Authorization": f"Bearer {token}",
                "X-MG-Timestamp": ts,
                "X-MG-Nonce": nonce,
                "X-MG-Signature": sign(key, self.command, path, query, ts, nonce, body),
            }
            for name in ("Content-Type", "User-Agent", "Referer"):
                if self.headers.get(name):
                    headers[name] = self.headers[name]
            try:
                status, res_headers, res_body = upstream.request(self.command, self.path, body, headers)
            except (OSError, http.client.HTTPException) as e:
                status, res_headers, res_body = 502, [], str(e).encode()
            self.send_response(status)
            for name, value in res_headers:
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(res_body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(res_body)

        # Every method goes upstream (QUERY, TRACE, ...), so the server, not this proxy, answers.
        def __getattr__(self, name):
            if name.startswith("do_"):
                return self._forward
            raise AttributeError(name)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), Handler)
    print(f"sign-proxy: listening on http://127.0.0.1:{args.listen}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
