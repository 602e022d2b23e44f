"""Settings from the environment, read once into one typed value."""

import logging
import math
import os
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from order_intake.adapters.mail.url import DEFAULT_MAIL_URL, DEFAULT_SANDBOX_MAIL_URL, parse_mail_url
from order_intake.domain.events import EXCHANGE
from order_intake.domain.policy import DEFAULT_FROM, Policy, changed_policy
from order_intake.errors import ConfigError

DEFAULT_DATABASE_URL: Final = "sqlite:///./order-intake.db"
DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the defaults an operator gets when nothing is set."""

    database_url: str = DEFAULT_DATABASE_URL
    # Verified keys are cached this long; revocation must take effect within 5 seconds.
    auth_cache_seconds: float = 2.0
    # Largest number of submissions the group-commit writer puts in one transaction.
    writer_max_batch: int = 1000
    # Submissions one process lets wait for the database at once; past it, 503 (memory stays bounded).
    writer_max_queued: int = 5000
    # Transactions one process's writer may have in flight at once on PostgreSQL (SQLite: always 1).
    writer_inflight: int = 1
    # PostgreSQL connections per server process.
    pool_size: int = 8
    log_level: str = "INFO"
    # A body must arrive within this many seconds, so that a client trickling it cannot hold a worker.
    body_timeout_seconds: float = 30.0
    # A connection must deliver a request's headers within this many seconds of opening or of its last
    # answer (idle keep-alive included), else it is closed: trickled headers and idle sockets cannot pile up.
    header_timeout_seconds: float = 10.0
    # Rate-limit buckets in Redis, shared by every process and node; None: in each process's memory.
    redis_url: str | None = None
    # Prefix of the buckets' keys, so that several deployments can share one Redis.
    redis_prefix: str = "order-intake:ratelimit:"
    # RabbitMQ for the events (amqp://...); unset: events stay in the outbox (`order-intake events tail`).
    broker_url: str | None = None
    broker_exchange: str = EXCHANGE
    # Whether `serve` keeps a processing worker process beside its HTTP processes (`serve --no-worker`: no).
    serve_worker: bool = True
    # Niceness `serve`'s own worker adds to its own (0-19): where the two share the cores, requests wait
    # less behind processing rounds, which still keep up (docs/decisions.md). A standalone worker adds none.
    serve_worker_nice: int = 3
    # Submissions a processing transaction takes (more while a backlog lasts, up to processing_max_batch);
    # unset: the backend's own (Backend.pace).
    processing_batch: int | None = None
    # How far a processor's batch grows while a backlog lasts (each full batch doubles the next).
    processing_max_batch: int = 1000
    # Processors one worker process runs at once (PostgreSQL; SQLite runs one).
    processing_concurrency: int = 2
    # Who the audit log names for admin commands; unset: the OS user running them.
    admin_actor: str | None = None
    # The base of the links customers get (review, unsubscribe).
    public_url: str = DEFAULT_PUBLIC_URL
    # The invitations' sender for every organisation whose policy names none (a display name is allowed).
    mail_from: str = DEFAULT_FROM
    # Where invitations go (maildir:PATH, smtp://..., smtps://...), and sandbox keys' invitations.
    mail_url: str = DEFAULT_MAIL_URL
    sandbox_mail_url: str = DEFAULT_SANDBOX_MAIL_URL
    # How long a sender holds the invitations it claimed; a sender that died leaves them for this long.
    mail_lease_seconds: float = 60.0
    # Invitations a sender claims at once.
    mail_batch: int = 50


# The largest count and the longest time any setting takes: far past a sensible value, and small
# enough for every library the value reaches (a timer, a timedelta, a C integer).
_MOST_COUNT: Final = 10_000_000
_MOST_SECONDS: Final = 86_400.0
_LOG_LEVELS: Final = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_SCHEMES: Final = {
    "REDIS_URL": ("redis", "rediss", "unix"),
    "BROKER_URL": ("amqp", "amqps"),
    "PUBLIC_URL": ("http", "https"),
}
_OFF: Final = ("0", "false", "no", "off")


def _number(env: dict[str, str], name: str, default: float, most: float = _MOST_COUNT) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        msg = f"{name} must be a number, got {raw!r}"
        raise ConfigError(msg) from None
    if not math.isfinite(value) or value < 0 or value > most:
        msg = f"{name} must be a number from 0 to {most:g}, got {raw!r}"
        raise ConfigError(msg)
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    """A time in seconds (0 or empty: the default)."""
    return _number(env, name, default, _MOST_SECONDS) or default


def _url(env: dict[str, str], name: str) -> str | None:
    """A URL whose scheme is one the setting takes (and a host, but for unix:); None when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in _SCHEMES[name] or not (parts.netloc or parts.scheme == "unix"):
        schemes = ", ".join(f"{scheme}://" for scheme in _SCHEMES[name])
        msg = f"{name} must start with one of {schemes} and name a host, got {raw!r}"
        raise ConfigError(msg)
    return raw


def _log_level(env: dict[str, str]) -> str:
    """A level name the logging module knows (WARN, FATAL and NOTSET too); empty: INFO."""
    level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in logging.getLevelNamesMapping():
        msg = f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {env.get('LOG_LEVEL')!r}"
        raise ConfigError(msg)
    return level


def _off(env: dict[str, str], name: str) -> bool:
    """Whether a switch that is on by default is turned off: 0, false, no or off (any other value: on)."""
    return env.get(name, "").strip().lower() in _OFF


def _mail_from(env: dict[str, str]) -> str:
    raw = env.get("ORDER_INTAKE_MAIL_FROM", "").strip()
    if not raw:
        return DEFAULT_FROM
    policy, errors = changed_policy(Policy(), {"from": raw})  # the rule a policy's own `from` follows
    if errors:
        msg = f"ORDER_INTAKE_MAIL_FROM: {errors[0]}, got {raw!r}"
        raise ConfigError(msg)
    return policy.sender


def _mail_url(env: dict[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    try:
        parse_mail_url(raw)
    except ValueError as exc:
        msg = f"{name}: {exc}, got {raw!r}"
        raise ConfigError(msg) from None
    return raw


def _processing_batch(env: dict[str, str]) -> int | None:
    """ORDER_INTAKE_PROCESSING_BATCH, at least 1; None when unset or empty: the backend's own."""
    if not env.get("ORDER_INTAKE_PROCESSING_BATCH"):
        return None
    return max(1, int(_number(env, "ORDER_INTAKE_PROCESSING_BATCH", 1)))


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or the mapping given, for tests)."""
    env = dict(os.environ if environ is None else environ)
    auth_cache = min(_number(env, "ORDER_INTAKE_AUTH_CACHE_SECONDS", 2.0, _MOST_SECONDS), 5.0)
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        auth_cache_seconds=auth_cache,
        writer_max_batch=max(1, int(_number(env, "ORDER_INTAKE_WRITER_MAX_BATCH", 1000))),
        writer_max_queued=int(_number(env, "ORDER_INTAKE_WRITER_MAX_QUEUED", 5000)),
        writer_inflight=max(1, int(_number(env, "ORDER_INTAKE_WRITER_INFLIGHT", 1))),
        pool_size=max(1, int(_number(env, "ORDER_INTAKE_POOL_SIZE", 8))),
        log_level=_log_level(env),
        body_timeout_seconds=_seconds(env, "ORDER_INTAKE_BODY_TIMEOUT_SECONDS", 30.0),
        header_timeout_seconds=_seconds(env, "ORDER_INTAKE_HEADER_TIMEOUT_SECONDS", 10.0),
        redis_url=_url(env, "REDIS_URL"),
        redis_prefix=env.get("ORDER_INTAKE_REDIS_PREFIX") or "order-intake:ratelimit:",
        broker_url=_url(env, "BROKER_URL"),
        broker_exchange=env.get("ORDER_INTAKE_BROKER_EXCHANGE") or EXCHANGE,
        serve_worker=not _off(env, "ORDER_INTAKE_SERVE_WORKER"),
        serve_worker_nice=min(19, int(_number(env, "ORDER_INTAKE_SERVE_WORKER_NICE", 3))),
        processing_batch=_processing_batch(env),
        processing_max_batch=max(1, int(_number(env, "ORDER_INTAKE_PROCESSING_MAX_BATCH", 1000))),
        processing_concurrency=max(1, int(_number(env, "ORDER_INTAKE_PROCESSING_CONCURRENCY", 2))),
        admin_actor=env.get("ORDER_INTAKE_ACTOR", "").strip() or None,
        public_url=(_url(env, "PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
        mail_from=_mail_from(env),
        mail_url=_mail_url(env, "MAIL_URL", DEFAULT_MAIL_URL),
        sandbox_mail_url=_mail_url(env, "SANDBOX_MAIL_URL", DEFAULT_SANDBOX_MAIL_URL),
        mail_lease_seconds=_seconds(env, "ORDER_INTAKE_MAIL_LEASE_SECONDS", 60.0),
        mail_batch=max(1, int(_number(env, "ORDER_INTAKE_MAIL_BATCH", 50))),
    )
