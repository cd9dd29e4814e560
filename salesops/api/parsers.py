"""The API's JSON parser: refuses a body nested deeper than MAX_DEPTH before parsing it.

Python's json parser recurses once per level of nesting; a 2 kB body of a thousand `[`
overflows the interpreter's recursion limit and the RecursionError escapes DRF (which only
turns ValueError into a 400) as a 500. No payload of this API nests deeper than a handful
of levels, so the depth is checked first, cheaply, on the text, and a deeper body is a 400
`body_too_deep` in the API's error shape. Catching the RecursionError instead would let
the parser run to the interpreter's limit first, wherever the stack happens to be.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from salesops.exceptions import ApplicationError

MAX_DEPTH = 64

# A JSON string, escapes included; one that does not end runs to the end of the text (as
# far as json.loads reads before it gives up). Possessive, and it matches wherever a quote
# starts: no backtracking, no retry at every later quote — linear in the text.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
# Openers become "(", closers ")", everything else goes: one C pass over the bytes.
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


class BodyTooDeep(ApplicationError):
    status = 400
    code = "body_too_deep"
    default_message = (
        f"The JSON body nests deeper than {MAX_DEPTH} levels of arrays and objects; "
        "no request of this API needs more than a few."
    )


def exceeds_depth(text: str, limit: int) -> bool:
    """True when arrays and objects in `text` nest deeper than `limit`.

    Exact for valid JSON. For any other text it may over-count (openers left open count
    on top of the deepest matched brackets) but never under-counts what json.loads would
    recurse through before it finds the text invalid: a deeper text is refused here, so
    json.loads never recurses past `limit`.

    In C-speed passes, not a Python loop over characters (an import body may be 50 MB):
    each pass removes every innermost "()" pair, so the passes that find pairs are the
    depth of the matched brackets, and openers left unmatched add to it.
    """
    if text.count("[") + text.count("{") <= limit:
        return False  # it cannot nest deeper than it has openers: most bodies stop here
    outside_strings = _STRING.sub("", text).encode("ascii", "ignore")
    brackets = outside_strings.translate(_AS_PARENS, _NOT_BRACKETS)
    too_many_open = b"(" * (limit + 1)  # that many adjacent openers nest that deep
    passes = 0
    while too_many_open not in brackets:
        reduced = brackets.replace(b"()", b"")
        if len(reduced) == len(brackets):
            return passes + brackets.count(b"(") > limit  # what is left: ")))((("
        brackets, passes = reduced, passes + 1
        if passes > limit:
            return True
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, with the depth checked before json.loads."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except ValueError as exc:  # bytes that are not text in that charset
            raise ParseError(f"JSON parse error - {exc}") from exc
        if exceeds_depth(text, MAX_DEPTH):
            raise BodyTooDeep(details={"max_depth": MAX_DEPTH})
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
