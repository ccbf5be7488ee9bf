#!/usr/bin/env python3
"""Writes the seed corpora of the patch, validate, service and tokens targets
(fuzz/corpus/<target>/seed-*) from the test vectors and the captured IdP requests.
Run from the repository root: python3 fuzz/make_seeds.py [path/to/idp/requests.json]"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDP = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/idp/requests.json"


def load(path):
    with open(path) as f:
        return json.load(f)


def write(target, name, data):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


vectors = os.path.join(ROOT, "scim-core", "tests", "vectors")
idp = load(IDP) if os.path.exists(IDP) else []

# patch: PatchOp bodies (the vectors' operations, the IdPs' PATCH bodies).
patch_cases = load(os.path.join(vectors, "patch_cases.json"))["cases"]
seen = set()
for i, case in enumerate(patch_cases):
    body = compact({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": case["operations"]})
    if body not in seen and i % 4 == 0:
        seen.add(body)
        write("patch", f"vector-{i:03}", body)
for i, r in enumerate(idp):
    if r["method"] == "PATCH" and isinstance(r.get("body"), dict):
        write("patch", f"idp-{i:02}", compact(r["body"]))

# validate: resource bodies (RFC 7643 §8 examples, validation vectors, IdP POST/PUT bodies).
for name in ["rfc7643_8_1_minimal_user", "rfc7643_8_2_full_user",
             "rfc7643_8_3_enterprise_user", "rfc7643_8_4_group"]:
    write("validate", name, compact(load(os.path.join(vectors, name + ".json"))))
for i, case in enumerate(load(os.path.join(vectors, "validate_cases.json"))):
    write("validate", f"vector-{i:02}", compact(case["body"]))
for i, r in enumerate(idp):
    if r["method"] in ("POST", "PUT") and isinstance(r.get("body"), dict):
        write("validate", f"idp-{i:02}", compact(r["body"]))

# service: the IdP requests as text, ids replaced by the fixture's user and group.
def target(path):
    parts = path.split("?", 1)
    segs = parts[0].split("/")
    if len(segs) >= 3 and segs[1] in ("Users", "Groups"):
        segs[2] = "{user}" if segs[1] == "Users" else "{group}"
    out = "/scim/v2" + "/".join(segs)
    if len(parts) == 2:
        q = parts[1].replace(" ", "%20").replace('"', "%22")
        out += "?" + q
    return out


for i, r in enumerate(idp):
    head = f"{r['method']} {target(r['path_and_query'])}\nAuthorization: Bearer {{token}}\n"
    body = r.get("body")
    if body is not None:
        head += "Content-Type: application/scim+json\n"
    text = head + "\n" + (compact(body) if body is not None else "")
    write("service", f"idp-{i:02}", text.replace("{id}", "{user}"))
extra = {
    "discovery": "GET /scim/v2/ServiceProviderConfig\nAuthorization: Bearer {token}\n\n"
                 "---\nGET /scim/v2/Schemas\nAuthorization: Bearer {token}\n\n"
                 "---\nGET /scim/v2/ResourceTypes/User\nAuthorization: Bearer {token}\n\n",
    "search": "POST /scim/v2/Users/.search\nAuthorization: Bearer {token}\nContent-Type: application/scim+json\n\n"
              '{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"emails[type eq \\"work\\"]",'
              '"sortBy":"userName","sortOrder":"descending","startIndex":1,"count":10,"attributes":["userName","emails"]}',
    "root-search": "POST /scim/v2/.search\nAuthorization: Bearer {token}\n\n"
                   '{"filter":"displayName sw \\"Tour\\" or userName pr"}',
    "bulk": "POST /scim/v2/Bulk\nAuthorization: Bearer {token}\nContent-Type: application/scim+json\n\n"
            '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":['
            '{"method":"POST","path":"/Users","bulkId":"q1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}},'
            '{"method":"POST","path":"/Groups","bulkId":"q2","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"bulkId:q1"}]}},'
            '{"method":"PATCH","path":"/Groups/{group}","data":{"Operations":[{"op":"add","path":"members","value":[{"value":"bulkId:q1"}]}]}},'
            '{"method":"DELETE","path":"/Users/{user}","version":"W/\\"1\\""}]}',
    "etag": "GET /scim/v2/Users/{user}\nAuthorization: Bearer {token}\nIf-None-Match: W/\"1\"\n\n"
            "---\nPUT /scim/v2/Groups/{group}\nAuthorization: Bearer {token}\nIf-Match: *\nContent-Type: application/scim+json\n\n"
            '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Renamed","members":[]}',
    "tenant-b": "GET /scim/v2/Users\nAuthorization: Bearer {token_b}\n\n---\nGET /scim/v2/Groups/{group}\nAuthorization: Bearer {token_b}\n\n"
                "---\nPATCH /scim/v2/Users/{user}\nAuthorization: Bearer {token_b}\n\n"
                '{"Operations":[{"op":"replace","path":"active","value":false}]}',
    "no-auth": "DELETE /scim/v2/Users/{user}\n\n---\nGET /scim/v2/Users\nAuthorization: Basic dXNlcjpwYXNz\n\n",
    "list": "GET /scim/v2/Groups?filter=members.value%20eq%20%22{user}%22&attributes=displayName&count=-1&startIndex=0\n"
            "Authorization: Bearer {token}\nAccept: application/json\n\n"
            "---\nGET /scim/v2/Users?sortBy=name.familyName&excludedAttributes=emails&cursor=\nAuthorization: Bearer {token}\n\n",
    "me": "GET /scim/v2/Me\nAuthorization: Bearer {token}\n\n---\nOPTIONS /scim/v2/Users\nAuthorization: Bearer {token}\n\n",
}
for name, text in extra.items():
    write("service", name, text)

# tokens: a mode byte (0: Authorization fields, 1: token text, 2: a format's parse), then text.
for name, text in {
    "bearer": "\x00Bearer {token}",
    "bearer-case": "\x00bEaReR   {token}  ",
    "bare": "\x00{token}",
    "two-fields": "\x00Bearer {token}\nBearer {token}",
    "basic": "\x00Basic dXNlcjpwYXNz",
    "empty-bearer": "\x00Bearer ",
    "plus-one": "\x00Bearer {token}x",
    "shaped": "\x00Bearer scim_0V9PzQ3kL7cT2wXa_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ000000",
    "verify": "\x01{token}",
    "verify-minus-one": "\x01{token}\x08",
    "format": "\x02{token}",
    "format-other": "\x02acme_corp_0V9PzQ3kL7cT2wXa_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ000000",
}.items():
    write("tokens", name, text)
