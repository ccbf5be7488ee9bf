#!/usr/bin/env python3
"""Creates N users on a SCIM server (POST /Users, a few keep-alive connections in
parallel) and writes one line per user, `id<TAB>userName`, for the wrk scripts.

usage: populate.py BASE_URL TOKEN COUNT OUT_FILE

Standard library only. The userNames are fixed (`bench.user.00000` ...), the ids are
whatever the server assigned.
"""

import http.client
import json
import sys
import threading
import urllib.parse

THREADS = 4


def user(i):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"bench.user.{i:05d}",
        "externalId": f"ext-{i:05d}",
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i % 997}"},
        "displayName": f"Given{i} Family{i % 997}",
        "emails": [
            {"value": f"bench.user.{i:05d}@example.com", "type": "work", "primary": True}
        ],
        "active": True,
    }


def main():
    base, token, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    url = urllib.parse.urlsplit(base)
    path = url.path.rstrip("/") + "/Users"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/scim+json",
    }
    ids = [None] * count
    errors = []

    def work(k):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        for i in range(k, count, THREADS):
            body = json.dumps(user(i))
            for attempt in range(3):
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (ConnectionError, http.client.HTTPException):
                    conn.close()
                    if attempt == 2:
                        raise
            if resp.status != 201:
                errors.append(f"user {i}: HTTP {resp.status}: {data[:200]!r}")
                return
            ids[i] = json.loads(data)["id"]
        conn.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors or any(i is None for i in ids):
        sys.exit("populate failed: " + "; ".join(errors[:3]))
    with open(out, "w") as f:
        for i, rid in enumerate(ids):
            f.write(f"{rid}\t{user(i)['userName']}\n")


if __name__ == "__main__":
    main()
