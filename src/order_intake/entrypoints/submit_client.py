"""`order-intake submit`: send an order file to POST /v4/customer_orders in batches that are safe to send again."""

import hashlib
import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx
import msgspec

from order_intake.domain import catalogue
from order_intake.domain.jsonbody import parse_body
from order_intake.entrypoints.order_files import OrderFile
from order_intake.errors import OrderFileError, SubmitFailed

MAX_ATTEMPTS = 5
FIRST_DELAY = 0.5
MAX_DELAY = 60.0
# A full batch is validated and committed before its answer: seconds, where the server's own bounds
# (30 s for the body, 10 s a statement) end any request well inside a minute. A host that takes the
# connection and never answers costs a minute per attempt.
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_HINTS = {401: " (check --user and --password)", 413: " (use a smaller --batch-size)"}
_encoder = msgspec.json.Encoder(decimal_format="number")


class _Element(msgspec.Struct):
    index: int
    order_ref: str | None = None
    errors: list[str] = []
    warnings: list[str] = []


class _Answer(msgspec.Struct):
    """A batch answer (`ids`: null per rejected order) or an error's message (401: `errors`, 403: `error`)."""

    message: str = ""
    error: str = ""
    ids: list[str | None] | None = None
    errors: list[_Element | str] | str = []
    warnings: list[_Element] = []


def retry_delay(attempt: int, status: int | None, retry_after: str | None = None) -> float | None:
    """Seconds to wait before trying again after `attempt` (from 1) failed; None to give up.

    `status` is None for a transport error (no answer). Worth retrying: no answer, 5xx, 409 (the same
    batch still in progress) and 429, at most MAX_ATTEMPTS times in all; Retry-After (seconds) wins.
    """
    if attempt >= MAX_ATTEMPTS or not (status is None or status >= 500 or status in {409, 429}):  # noqa: PLR2004
        return None
    if retry_after is not None and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_DELAY)
    return min(FIRST_DELAY * 2.0 ** (attempt - 1), MAX_DELAY)


def idempotency_key(body: bytes) -> str:
    """The batch's Idempotency-Key: the same orders in the same batch always get the same key."""
    return "submit-" + hashlib.sha256(body).hexdigest()[:32]


def _decode(response: httpx.Response) -> _Answer:
    try:
        return msgspec.json.decode(response.content, type=_Answer)
    except msgspec.DecodeError:
        return _Answer(message=response.reason_phrase)


def _explain(status: int, answer: _Answer) -> str:
    detail = answer.message or answer.error or (answer.errors if isinstance(answer.errors, str) else "")
    listed = [e for e in answer.errors if isinstance(e, str)] if isinstance(answer.errors, list) else []
    return f"the server answered {status} {detail}{': ' + '; '.join(listed) if listed else ''}{_HINTS.get(status, '')}"


def send_batch(
    client: httpx.Client, body: bytes, *, wait: Callable[[float], None] = time.sleep
) -> tuple[_Answer, bool]:
    """POST one batch until it has an outcome (202, 206, per-element 422); the answer and whether replayed."""
    headers = {"Idempotency-Key": idempotency_key(body), "Content-Type": "application/json"}
    attempt = 0
    while True:
        attempt += 1
        status, retry_after = None, None
        try:
            response = client.post("/v4/customer_orders", content=body, headers=headers)
        except httpx.TransportError as exc:
            problem = f"no answer from {client.base_url} ({type(exc).__name__}: {exc})"
        else:
            answer, status = _decode(response), response.status_code
            if status in {202, 206, 422} and answer.ids is not None:
                return answer, response.headers.get("idempotent-replayed") == "true"
            problem, retry_after = _explain(status, answer), response.headers.get("retry-after")
        delay = retry_delay(attempt, status, retry_after)
        if delay is None:
            raise SubmitFailed(problem if attempt < MAX_ATTEMPTS else f"{problem}; gave up after {attempt} attempts")
        wait(delay)


@dataclass
class _Run:
    """What the run has done so far, and the rejected-orders file (opened at the first rejection)."""

    rejected_path: Path
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    replayed: int = 0
    sent: int = 0
    rejections_written: bool = False
    warnings: Counter[str] = field(default_factory=Counter)

    def record(self, orders: list[msgspec.Raw], answer: _Answer, *, replayed: bool) -> None:
        self.batches, self.replayed, self.sent = self.batches + 1, self.replayed + replayed, self.sent + len(orders)
        self.accepted += sum(i is not None for i in answer.ids or ())
        self.rejected += sum(i is None for i in answer.ids or ())
        self.warnings.update(w for element in answer.warnings for w in element.warnings)
        rejections = [e for e in answer.errors if isinstance(e, _Element)] if isinstance(answer.errors, list) else []
        if rejections:
            with self.rejected_path.open("ab" if self.rejections_written else "wb") as out:
                for e in rejections:
                    line = {"batch": self.batches, "index": e.index, "order_ref": e.order_ref, "errors": e.errors}
                    out.write(_encoder.encode({**line, "order": parse_body(bytes(orders[e.index]))}) + b"\n")
            self.rejections_written = True

    def summary(self) -> str:
        return f"accepted {self.accepted}, rejected {self.rejected}, batches {self.batches} ({self.replayed} replayed)"


def _shown(sent: int | None) -> str:
    return f"{sent or 0} orders sent"


def _send_file(orders: OrderFile, client: httpx.Client, batch_size: int, run: _Run) -> None:
    stream = orders.orders()
    with click.progressbar(
        length=max(orders.size, 1), file=sys.stderr, hidden=not sys.stderr.isatty(), item_show_func=_shown
    ) as bar:
        while batch := list(itertools.islice(stream, batch_size)):
            try:
                answer, replayed = send_batch(client, _encoder.encode(batch))
            except SubmitFailed as exc:
                raise SubmitFailed(f"batch {run.batches + 1}: {exc}") from None
            run.record(batch, answer, replayed=replayed)
            bar.update(orders.position() - bar.pos, run.sent)
        bar.update(orders.size - bar.pos, run.sent)  # a JSON array's position only counts its orders' bytes


@click.command("submit")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--url", required=True, help="The server's base URL, e.g. http://127.0.0.1:8080.")
@click.option("--user", required=True, envvar="ORDER_INTAKE_USER", show_envvar=True, help="API key username.")
@click.option("--password", required=True, envvar="ORDER_INTAKE_PASSWORD", show_envvar=True, help="API key password.")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, catalogue.MAX_BATCH),
    help="Orders per request.",
)
@click.option(
    "--rejected-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where rejected orders go, one JSON line each  [default: FILE.rejected.ndjson]",
)
def submit(file: Path, *, url: str, user: str, password: str, batch_size: int, rejected_file: Path | None) -> None:  # noqa: PLR0913 - one per option
    """Send the orders in FILE (.json array, .ndjson, .csv) in batches; a re-run stores nothing twice.

    Exit status: 0 all accepted, 1 some rejected (written to the rejected file), 2 stopped by an error.
    """
    run = _Run(rejected_file or file.with_name(f"{file.name}.rejected.ndjson"))
    try:
        _check_url(url)
        with OrderFile(file) as orders, httpx.Client(base_url=url, auth=(user, password), timeout=_TIMEOUT) as client:
            _send_file(orders, client, batch_size, run)
    except (OrderFileError, SubmitFailed, httpx.InvalidURL) as exc:
        _report(run, failed=True)
        click.echo(f"order-intake: {exc}", err=True)
        sys.exit(2)
    _report(run, failed=False)
    sys.exit(1 if run.rejected else 0)


def _check_url(url: str) -> None:
    if httpx.URL(url).scheme not in {"http", "https"}:
        raise SubmitFailed(f"--url must start with http:// or https://, not {url!r}")


def _report(run: _Run, *, failed: bool) -> None:
    if run.batches or not failed:
        click.echo(run.summary())
    for warning, count in run.warnings.most_common():
        click.echo(f"warning: {warning} ({count} orders)", err=True)
    if run.rejected:
        click.echo(f"rejected orders written to {run.rejected_path}")
