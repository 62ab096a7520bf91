#!/usr/bin/env python3
"""Independent reference implementation of miniguard request signing (docs/protocol.md).

Written from the specification in the `signing` module docs, with Python's standard
library only. It (re)generates signing.json; the Rust tests check that miniguard-crypto produces
exactly these canonical strings and signatures, so the two implementations vouch for each other.

    python3 crates/crypto/tests/vectors/signing.py > crates/crypto/tests/vectors/signing.json
"""
import base64
import hashlib
import hmac
import json

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def form_decode(text: str) -> bytes:
    raw = text.replace("+", " ").encode()
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i] == ord("%"):
            pair = raw[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in b"0123456789abcdefABCDEF" for c in pair):
                raise ValueError("malformed percent escape")
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def encode(data: bytes) -> str:
    return "".join(chr(b) if b in UNRESERVED else "%%%02X" % b for b in data)


def canonical_query(query: str) -> str:
    pairs = []
    for parameter in query.split("&"):
        if not parameter:
            continue
        key, _, value = parameter.partition("=")
        pairs.append((encode(form_decode(key)), encode(form_decode(value))))
    pairs.sort(key=lambda kv: (kv[0].encode(), kv[1].encode()))
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(method, path, query, timestamp, nonce, body: bytes) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method, path, canonical_query(query), str(timestamp), nonce, body_hash])


KEY = bytes(range(32))
CASES = [
    ("GET without query or body", "GET", "/v1/users/me", "", 1700000000, bytes(range(16)), ""),
    (
        "POST with a JSON body and unsorted query",
        "POST",
        "/v1/orders",
        "page=2&limit=10",
        1700000123,
        bytes(range(16, 32)),
        '{"item":"tea","quantity":2}',
    ),
    (
        "escaping rules: + is a space, %2b a plus, %7e a tilde, bare keys, repeated keys sorted by value",
        "GET",
        "/v1/search",
        "b=2&a=3&a=1&flag&q=x+y%2b&t=%7e",
        1700000000,
        bytes([0xFF] * 16),
        "",
    ),
    (
        "UTF-8 in query, path and body; empty parameters dropped; '=' inside a value",
        "PUT",
        "/v1/files/%E6%96%87%E4%BB%B6",
        "&&name=%E5%BC%A0%E4%B8%89&city=广州&expr=a=b&",
        1700000456,
        bytes(range(100, 124)),
        '{"备注":"你好"}',
    ),
    (
        "DELETE with a lower-case escape and a reserved character in a key",
        "DELETE",
        "/v1/sessions/abc",
        "filter%5bstatus%5d=active&z=",
        0,
        bytes(range(32, 96)),
        "",
    ),
]


def main():
    vectors = []
    for description, method, path, query, timestamp, nonce_bytes, body in CASES:
        nonce = b64url(nonce_bytes)
        canonical = canonical_request(method, path, query, timestamp, nonce, body.encode())
        signature = b64url(hmac.new(KEY, canonical.encode(), hashlib.sha256).digest())
        vectors.append(
            {
                "description": description,
                "method": method,
                "path": path,
                "query": query,
                "timestamp": timestamp,
                "nonce": nonce,
                "body": body,
                "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "canonical_query": canonical_query(query),
                "canonical_request": canonical,
                "signature": signature,
            }
        )
    document = {
        "about": "miniguard signed-request test vectors; see docs/protocol.md. Bodies are UTF-8 text.",
        "generated_by": "crates/crypto/tests/vectors/signing.py (independent Python reference)",
        "signing_key": b64url(KEY),
        "vectors": vectors,
        "invalid_queries": ["a=%zz", "a=%4", "%=1"],
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
