"""Build: the modules every order passes through are compiled to C by mypyc; the rest stays Python.

The project's metadata is in pyproject.toml; this file only adds the compiled modules. mypyc turns
type-annotated Python (the code is mypy-strict already) into a C extension per module: the same
source, the same behaviour, without the interpreter's dispatch. An editable install (`pip install -e`)
builds them beside their sources in src/, where Python imports them instead of the .py files, so
after editing one of these modules run scripts/setup again (the test suite refuses stale ones).

ORDER_INTAKE_PURE=1 at install time builds nothing: every module then runs as plain Python (slower;
for a machine without a C compiler, or to measure test coverage of these modules).
"""

import os

from setuptools import setup

# hot path: what mypyc compiles, and the rules compiled code keeps (docs/hot-path.md).
# The request path of a single order (bench/handler.py: about 30% fewer instructions per request),
# and processing's (the plan, the merge, the stores' Python around each statement).
# Left out: modules that define msgspec Structs (mypyc rewrites class annotations, `UUID | None`
# into `type`, and msgspec decodes by them; a test keeps Structs out of this list), modules of
# async generators (mypyc cannot compile them: adapters/postgres/intake.py), and everything off the hot path
# (start-up, the command line, migrations, the relay, reading refused bodies to drop them: linger.py).
COMPILED = [
    "adapters/postgres/processing.py",
    "adapters/sqlite/processing.py",
    "adapters/writer.py",
    "domain/access.py",
    "domain/codes.py",
    "domain/credentials.py",
    "domain/fields.py",
    "domain/formats.py",
    "domain/ids.py",
    "domain/invitations.py",
    "domain/membernames.py",
    "domain/merge.py",
    "domain/metadata.py",
    "domain/objects.py",
    "domain/ratelimit.py",
    "domain/validation.py",
    "domain/zones.py",
    "entrypoints/http/access.py",
    "entrypoints/http/app.py",
    "entrypoints/http/deadline.py",
    "entrypoints/http/endpoints.py",
    "entrypoints/http/exchange.py",
    "entrypoints/http/intake.py",
    "entrypoints/http/limits.py",
    "entrypoints/http/replies.py",
    "entrypoints/http/router.py",
    "logs.py",
    "metrics.py",
    "service/auth.py",
    "service/invitations.py",
    "service/processing.py",
    "service/ratelimit.py",
    "service/submit.py",
]


def _extensions() -> list[object]:
    if os.environ.get("ORDER_INTAKE_PURE"):
        return []
    from mypyc.build import mypycify  # noqa: PLC0415 - only a compiling build needs mypyc

    return mypycify([f"src/order_intake/{module}" for module in COMPILED], opt_level="3")


setup(ext_modules=_extensions())
