"""schemathesis hooks for .ci/schemathesis.sh (see schemathesis.toml for why)."""

import os
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


# The key the run authenticates with and its member (see schemathesis.sh).
PROTECTED = {i.lower() for i in os.environ.get("LW_PROTECTED_IDS", "").split(",") if i}


@schemathesis.hook
def filter_path_parameters(ctx, path_parameters):
    # Revoking the run's own key, or removing or demoting its owner, would turn every later
    # request into a 401: such cases are dropped (our own tests cover both).
    if not path_parameters:
        return True
    return not any(str(v).lower() in PROTECTED for v in path_parameters.values())
