"""schemathesis hooks for .ci/schemathesis.sh (see schemathesis.toml for why)."""

import re
import uuid

import schemathesis


@schemathesis.hook
def filter_query(ctx, query):
    # A cursor is signed by the server; an invented one is rightly a 400, so such cases test
    # nothing the document can promise. An empty page[cursor] (no cursor) stays.
    if not query:
        return True
    nested = query.get("paging") if isinstance(query.get("paging"), dict) else {}
    return not (query.get("page[cursor]") or nested.get("page[cursor]"))


VALID_KEY = re.compile(r"[!-~]([ -~]*[!-~])?")


@schemathesis.hook
def map_headers(ctx, headers):
    # Real clients send a fresh Idempotency-Key per logical request; the stateful phase would
    # reuse generated ones, and a replay rightly answers with the first response.
    # Only a valid key is replaced: an invalid one is a negative case and stays as generated.
    key = (headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and len(key) <= 255 and VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers
