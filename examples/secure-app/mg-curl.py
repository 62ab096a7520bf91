#!/usr/bin/env python3
"""mg-curl: curl for a miniguard server, signing each request as docs/protocol.md says.

Python 3 standard library only. Usage:

  mg-curl.py login dev:alice                  # POST /v1/auth/wechat/login, keep the session
  mg-curl.py GET /v1/me
  mg-curl.py POST /v1/collections/goods/records '{"name":"tea","price":12}'
  mg-curl.py POST '/v1/collections/docs/records/ID/files/scan?name=a.png' @a.png --type image/png
  mg-curl.py GET /v1/collections/docs/records/ID/files/scan --out a.png
  mg-curl.py --check-vectors crates/crypto/tests/vectors/signing.json

Settings (flags win over the environment):
  --base URL      MG_BASE     default https://127.0.0.1:8443
  --cacert PEM    MG_CACERT   the certificate to trust (serve --dev prints its path)
  --session FILE  MG_SESSION  default .mg-session.json (written with mode 0600: it holds tokens)

The answer's body goes to standard output, the status line to standard error; the exit status
is 0 for a 2xx answer, 1 for any other answer, and 2 when no request could be made (a missing
file or session, an unreachable server), with a one-line message instead of a traceback.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX = "0123456789abcdefABCDEF"


class UsageError(Exception):
    """A problem the user can fix (a missing file, no session, an unreachable server)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def form_decode(s: str) -> bytes:
    """application/x-www-form-urlencoded decoding; a bad %-escape is an error."""
    raw = s.replace("+", " ").encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == ord("%"):
            pair = raw[i + 1 : i + 3].decode("ascii", "replace")
            if len(pair) != 2 or any(c not in HEX for c in pair):
                raise ValueError("bad percent-escape in the query")
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def encode(b: bytes) -> str:
    return "".join(chr(c) if c in UNRESERVED else "%%%02X" % c for c in b)


def canonical_query(raw: str) -> str:
    pairs = []
    for p in raw.split("&"):
        if not p:
            continue
        k, _, v = p.partition("=")
        pairs.append((encode(form_decode(k)), encode(form_decode(v))))
    pairs.sort(key=lambda kv: (kv[0].encode("ascii"), kv[1].encode("ascii")))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(method, path, query, timestamp, nonce, body: bytes) -> str:
    return "\n".join(
        [
            method,
            path,
            canonical_query(query),
            str(timestamp),
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def signature(signing_key: str, canonical: str) -> str:
    mac = hmac.new(b64url_decode(signing_key), canonical.encode("utf-8"), hashlib.sha256)
    return b64url(mac.digest())


def read_bytes(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}") from None


def read_json(path: str, what: str):
    try:
        return json.loads(read_bytes(path, what).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"{what} {path} is not JSON: {e}") from None


def check_vectors(path: str) -> int:
    doc = read_json(path, "the vectors file")
    key = doc["signing_key"]
    for v in doc["vectors"]:
        body = v["body"].encode("utf-8")
        canon = canonical_request(
            v["method"], v["path"], v["query"], v["timestamp"], v["nonce"], body
        )
        assert canonical_query(v["query"]) == v["canonical_query"], v["description"]
        assert canon == v["canonical_request"], v["description"]
        assert signature(key, canon) == v["signature"], v["description"]
    for q in doc.get("invalid_queries", []):
        text = q["query"] if isinstance(q, dict) else q
        try:
            canonical_query(text)
        except ValueError:
            continue
        raise AssertionError(f"accepted invalid query {text!r}")
    print(f"ok: {len(doc['vectors'])} vectors", file=sys.stderr)
    return 0


def ssl_context(cacert):
    if not cacert:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=cacert)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(
            f"cannot use the certificate {cacert}: {e} "
            "(serve --dev writes it to dev-cert.pem in its --data-dir)"
        ) from None


def send(url, method, headers, body, ctx):
    req = urllib.request.Request(url, data=body if body else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as res:
            return res.status, res.reason, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.reason, e.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise UsageError(f"cannot reach {url}: {reason} (is the server running? check --base)") from None


def save_session(path, session):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(session, f)
        os.chmod(path, 0o600)
    except OSError as e:
        raise UsageError(f"cannot write the session file {path}: {e.strerror or e}") from None


def load_session(path):
    if not os.path.exists(path):
        raise UsageError(f"no session in {path}; log in first: mg-curl.py login dev:alice")
    session = read_json(path, "the session file")
    if not isinstance(session, dict) or not all(
        isinstance(session.get(k), str) for k in ("access_token", "signing_key")
    ):
        raise UsageError(f"{path} is not a session written by mg-curl.py login; log in again")
    return session


def write_out(path, data):
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Signed requests to a miniguard server.")
    ap.add_argument("method", nargs="?", help="GET, POST, PATCH, DELETE, or login")
    ap.add_argument("path", nargs="?", help="path and query, e.g. /v1/me; for login: the code")
    ap.add_argument("body", nargs="?", default="", help="JSON text, or @FILE for raw bytes")
    ap.add_argument("--type", default=None, help="Content-Type (default application/json)")
    ap.add_argument("--out", default=None, help="write the answer's body to FILE")
    ap.add_argument("--base", default=os.environ.get("MG_BASE", "https://127.0.0.1:8443"))
    ap.add_argument("--cacert", default=os.environ.get("MG_CACERT"))
    ap.add_argument("--session", default=os.environ.get("MG_SESSION", ".mg-session.json"))
    ap.add_argument("--check-vectors", metavar="FILE", default=None)
    a = ap.parse_args(argv)

    if a.check_vectors:
        return check_vectors(a.check_vectors)
    if not a.method or not a.path:
        ap.error("give METHOD and PATH (or: login CODE)")
    ctx = ssl_context(a.cacert)
    base = a.base.rstrip("/")

    if a.method == "login":
        body = json.dumps({"code": a.path}).encode("utf-8")
        status, reason, data = send(
            base + "/v1/auth/wechat/login",
            "POST",
            {"Content-Type": "application/json"},
            body,
            ctx,
        )
        print(f"HTTP {status} {reason}", file=sys.stderr)
        if 200 <= status < 300:
            try:
                session = json.loads(data)
            except ValueError:
                raise UsageError(f"the login answer is not JSON: {data[:200]!r}") from None
            save_session(a.session, session)
            user = session.get("user", {})
            print(json.dumps({"user": user, "session_file": a.session}))
            return 0
        sys.stdout.write(data.decode("utf-8", "replace") + "\n")
        return 1

    session = load_session(a.session)
    method = a.method.upper()
    if a.body.startswith("@"):
        body = read_bytes(a.body[1:], "the body file")
        content_type = a.type or "application/octet-stream"
    else:
        body = a.body.encode("utf-8")
        content_type = a.type or "application/json"
    path, _, query = a.path.partition("?")
    timestamp = int(time.time())
    nonce = b64url(secrets.token_bytes(16))
    canon = canonical_request(method, path, query, timestamp, nonce, body)
    headers = {
        "Authorization": "Bearer " + session["access_token"],
        "X-MG-Timestamp": str(timestamp),
        "X-MG-Nonce": nonce,
        "X-MG-Signature": signature(session["signing_key"], canon),
    }
    if body:
        headers["Content-Type"] = content_type
    status, reason, data = send(base + a.path, method, headers, body, ctx)
    print(f"HTTP {status} {reason}", file=sys.stderr)
    if a.out:
        write_out(a.out, data)
    elif data:
        sys.stdout.write(data.decode("utf-8", "replace") + "\n")
    return 0 if 200 <= status < 300 else 1


def run() -> int:
    try:
        return main()
    except UsageError as e:
        print(f"mg-curl: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(run())
