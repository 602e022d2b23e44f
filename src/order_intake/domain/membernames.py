"""Member names of JSON objects, counted in a decoded value and in the text sent, to find a repeated one.

JSON decoders keep one value of a name repeated in an object (msgspec the last) and say nothing.
Compiled by mypyc (setup.py): it runs for every body, after decoding.
"""

__all__ = ["repeats_a_name"]


def _names_kept(value: object) -> int:
    """How many member names the decoded value's objects hold, at any depth (a name repeated once).

    A loop over a stack rather than recursion: a body nested as deep as the decoder allows would
    leave no room for a recursion as deep in a build that is not compiled.
    """
    names = 0
    pending: list[object] = [value]
    # hot path: plain loops, which mypyc compiles to C; extend() over a generator took 40% longer.
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            names += len(item)
            for member in item.values():
                if isinstance(member, (dict, list)):
                    pending.append(member)  # noqa: PERF401 - see the hot-path note above
        elif isinstance(item, list):
            for element in item:
                if isinstance(element, (dict, list)):
                    pending.append(element)  # noqa: PERF401 - see the hot-path note above
    return names


def _names_sent(body: bytes) -> int:
    """How many member names a well-formed JSON text holds: its colons outside strings.

    Escaped backslashes, then escaped quotes, go first, so that every quote left opens or closes a
    string; the text between the quotes is then alternately outside and inside a string.
    """
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(body.split(b'"')[::2]).count(b":")


def repeats_a_name(body: bytes, value: object) -> bool:
    """Whether an object of `body` (well-formed JSON, decoded as `value`) names a member twice."""
    kept = _names_kept(value)
    # hot path: each name sent needs a colon after it, and colons inside strings only add to the
    # count, so as many colons as names kept means none was dropped: one count instead of a scan.
    return body.count(b":") != kept and _names_sent(body) != kept
