#!/usr/bin/env python3
"""Set up a running PocketBase for bench/serve/run.sh --pocketbase (see docs/benchmarks.md).

The peer's counterpart of serve's `bench_plain` collection: a collection `bench_owner` with an
`owner` relation to the built-in `users` auth collection, the same three text fields, and every
rule tied to the owner (`owner = @request.auth.id`), so a read by id is an authenticated record
read through an owner rule, as `read = "owner"` is in serve. One user is created and logged in.

Prints, on one line each: the user's auth token and the user's record id.

Usage: pocketbase.py URL SUPERUSER_EMAIL SUPERUSER_PASSWORD
(the superuser is created beforehand with `pocketbase superuser upsert`).
Only the Python standard library; talks to URL only (a server on 127.0.0.1 that run.sh started).
"""

import json
import sys
import urllib.error
import urllib.request

COLLECTION = "bench_owner"
USER_EMAIL = "bench@example.com"
USER_PASSWORD = "bench-password-1234"


def call(url, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as e:
        detail = e.read()[:500].decode("utf-8", "replace")
        sys.exit(f"pocketbase.py: {method} {path} answered {e.code}: {detail}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    url, email, password = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    admin = call(
        url,
        "POST",
        "/api/collections/_superusers/auth-with-password",
        {"identity": email, "password": password},
    )["token"]
    owner = "owner = @request.auth.id"
    call(
        url,
        "POST",
        "/api/collections",
        {
            "name": COLLECTION,
            "type": "base",
            "fields": [
                {
                    "name": "owner",
                    "type": "relation",
                    "required": True,
                    "collectionId": "_pb_users_auth_",
                    "maxSelect": 1,
                },
                {"name": "title", "type": "text", "max": 20},
                {"name": "note", "type": "text", "max": 1000},
                {"name": "secret", "type": "text", "max": 100},
            ],
            "listRule": owner,
            "viewRule": owner,
            "createRule": owner,
            "updateRule": owner,
            "deleteRule": owner,
        },
        admin,
    )
    call(
        url,
        "POST",
        "/api/collections/users/records",
        {"email": USER_EMAIL, "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD},
        admin,
    )
    auth = call(
        url,
        "POST",
        "/api/collections/users/auth-with-password",
        {"identity": USER_EMAIL, "password": USER_PASSWORD},
    )
    print(auth["token"])
    print(auth["record"]["id"])


if __name__ == "__main__":
    main()
