"""What the server's processes import at start: none of the libraries only other commands need.

Importing SQLAlchemy, Alembic, httpx, redis, aio-pika, Jinja2, Babel and aiosmtplib would take most
of a worker's start-up (over half a second of import on a slow machine); the HTTP and processing
processes use none of them unless configured to (the mail libraries: until a customer's page or the
sender needs them).
"""

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "httpx", "redis", "aio_pika", "jinja2", "babel", "aiosmtplib")


@pytest.mark.parametrize(
    "modules",
    [
        # granian's worker: the factory module, then the app it imports
        ("order_intake.entrypoints.http.worker_start", "order_intake.entrypoints.http.app"),
        # `serve` (its command line, then the module that runs granian) and `worker` (the processing
        # worker serve keeps) as the command line loads them
        ("order_intake.entrypoints.cli", "order_intake.entrypoints.http_server", "order_intake.entrypoints.worker"),
    ],
)
def test_the_server_processes_import_none_of_the_heavy_libraries(modules: tuple[str, ...]) -> None:
    """Imported in a fresh interpreter, these modules leave every heavy library unloaded."""
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_the_admin_commands_still_find_their_library() -> None:
    """The check above can fail: the admin commands' module does load SQLAlchemy."""
    script = "import order_intake.entrypoints.cli_admin, sys\nprint('sqlalchemy' in sys.modules)\n"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "True"
