"""Which route a path is: whole segments compared, parameters named by the route's template."""

from dataclasses import dataclass, field

from order_intake.entrypoints.http.context import Endpoint, Params


@dataclass(slots=True)
class Match:
    """A path's route: its template (the label logs and metrics use), its endpoints by method, its parameters."""

    template: str
    methods: dict[str, Endpoint]
    params: Params


@dataclass(slots=True)
class _Template:
    template: str
    fixed: tuple[tuple[int, str], ...]  # (position, text) of each fixed segment
    names: tuple[tuple[int, str], ...]  # (position, name) of each parameter
    methods: dict[str, Endpoint] = field(default_factory=dict)


# hot path: routes grouped by segment count, matched by a few comparisons (docs/hot-path.md)
class Router:
    """Routes grouped by their number of segments: matching a path is a few string comparisons.

    A path matches only if it starts with `/` and no segment is empty (`//v4`, `/v4/`, `/v4//x`
    match nothing). Every route that takes GET takes HEAD too, answered by the same endpoint. The path
    is taken as given: granian has already percent-decoded it.
    """

    def __init__(self, routes: list[tuple[str, str, Endpoint]]) -> None:
        by_template: dict[str, _Template] = {}
        self._by_length: dict[int, list[_Template]] = {}
        for template, method, endpoint in routes:
            known = by_template.get(template)
            if known is None:
                segments = _segments(template)
                assert segments is not None, template  # noqa: S101 - the table's own templates
                fixed = tuple((i, s) for i, s in enumerate(segments) if not s.startswith("{"))
                names = tuple((i, s[1:-1]) for i, s in enumerate(segments) if s.startswith("{"))
                known = by_template[template] = _Template(template, fixed, names)
                self._by_length.setdefault(len(segments), []).append(known)
            known.methods[method] = endpoint
            if method == "GET":  # HEAD is GET without the body (RFC 9110 9.3.2); the server drops the body
                known.methods.setdefault("HEAD", endpoint)

    def match(self, path: str) -> Match | None:
        """The route of this path, or None."""
        segments = _segments(path)
        if segments is None:
            return None
        for route in self._by_length.get(len(segments), ()):
            for index, text in route.fixed:
                if segments[index] != text:
                    break
            else:
                return Match(route.template, route.methods, {name: segments[i] for i, name in route.names})
        return None


def _segments(path: str) -> list[str] | None:
    if not path.startswith("/"):
        return None
    segments = path[1:].split("/") if path != "/" else []
    return None if "" in segments else segments
