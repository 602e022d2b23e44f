"""Every exception order-intake raises, in one tree, and how an operator is shown a driver's error.

Errors inside the domain are values, not these. first_line (at the end) is the one-line form of a
driver's error that the CLI prints.

OrderIntakeError
├── ConfigError            a setting in the environment cannot be used (CLI: one line, exit 1)
│   └── DatabaseUrlError   DATABASE_URL names no database this service can use
├── AdminError             an operator's command cannot be carried out (CLI: one line, exit 1)
│   └── SuppressedByCustomer  lifting an unsubscribe or a bounce, which only the customer's side can (HTTP 409)
├── OrderFileError         `submit`: the file cannot be read as orders (one line, exit 2)
├── SubmitFailed           `submit`: a batch could not be delivered, or was refused whole (exit 2)
├── StoreUnavailable       the database cannot be reached, used or did not answer in time (HTTP 503; CLI: one line)
├── ProcessingOvertaken    a SQLite processing plan's orders changed before it was written (made again)
├── BrokerUnavailable      the message broker cannot be reached or did not confirm (events stay in the outbox)
├── LimiterUnavailable     the rate-limit store (Redis) failed or was slow (the request passes unchecked)
├── WriterClosed           the group-commit writer is draining for shutdown (HTTP 503)
├── IncompleteBody         the body's framing broke or its connection ended before its end (HTTP 400)
└── BodyTimeout            the body did not arrive in time (HTTP 408)
"""


class OrderIntakeError(Exception):
    """The root of the tree."""


class ConfigError(OrderIntakeError, ValueError):
    """A setting in the environment cannot be used."""


class DatabaseUrlError(ConfigError):
    """DATABASE_URL names no database this service can use."""


class AdminError(OrderIntakeError):
    """An operator's request that cannot be carried out; the message says why, in one line."""


class SuppressedByCustomer(AdminError):  # noqa: N818 - named for the answer it gets, 409 Suppressed by the customer
    """A request to lift a suppression the customer made (unsubscribed) or their mail server did (bounced)."""


class OrderFileError(OrderIntakeError, ValueError):
    """The file cannot be read as orders; the message names the file and, where known, the line."""


class SubmitFailed(OrderIntakeError):  # noqa: N818 - named for what the operator sees: the submission failed
    """A batch could not be delivered, or was refused whole; the message says why, in one line."""


class StoreUnavailable(OrderIntakeError):  # noqa: N818 - named for the answer it gets, 503 Service unavailable
    """The database cannot be reached, did not answer in time, or cannot do the work now (its SQLSTATE, if any)."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class WriterQueueFull(StoreUnavailable):  # a StoreUnavailable, answered alike
    """Too many submissions wait for the database already (a 503 the client may retry in a second)."""


class PlanningFailed(OrderIntakeError):  # noqa: N818 - named for what happened, like ProcessingOvertaken
    """Processing's own code (the merge, the invitations' planning) raised on the data it was given."""


class BrokerUnavailable(OrderIntakeError):  # noqa: N818 - named like StoreUnavailable
    """The message broker cannot be reached, or did not confirm a message in time."""


class WriterClosed(OrderIntakeError):  # noqa: N818 - a state, like asyncio.QueueShutDown
    """The writer is draining for shutdown and takes no new units."""


class BodyTimeout(OrderIntakeError):  # noqa: N818 - named for the answer it gets, 408 Request timeout
    """The client did not send its whole body within the configured time."""


class IncompleteBody(OrderIntakeError):  # noqa: N818 - a state of the request, not a failure of ours
    """The body ended before its framing said it would: a bad chunk, a cut connection, a short Content-Length."""


class LimiterUnavailable(OrderIntakeError):  # noqa: N818 - named like StoreUnavailable, for the state it reports
    """The rate-limit store did not answer in time or failed; the limiter then lets the request pass."""


class ProcessingOvertaken(OrderIntakeError):  # noqa: N818 - named for what happened: the round was overtaken
    """What a SQLite processing plan was made from changed before it was written; the round is made again."""


def first_line(exc: BaseException) -> str:
    """What an operator is shown of a driver's error: its first line (or its type, when it says nothing)."""
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__
