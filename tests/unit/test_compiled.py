"""The request path runs as production runs it: compiled by mypyc (setup.py), unless built pure."""

import ast
import importlib
import os
import time
from pathlib import Path

import pytest

from tests.support import compiled


@pytest.mark.skipif(bool(os.environ.get("ORDER_INTAKE_PURE")), reason="built without compiling (ORDER_INTAKE_PURE)")
def test_every_module_setup_compiles_is_imported_as_a_c_extension() -> None:
    """A silent fall-back to the .py files would test what production does not run."""
    names = compiled.compiled_modules()
    assert "order_intake.domain.validation" in names
    plain = [name for name in names if not str(importlib.import_module(name).__file__).endswith(".so")]
    assert plain == []


def _compiled_trees() -> list[tuple[str, ast.Module]]:
    """Each compiled module's name and parsed source."""
    return [
        (name, ast.parse((compiled.PACKAGE.parent / (name.replace(".", "/") + ".py")).read_text()))
        for name in compiled.compiled_modules()
    ]


def test_no_compiled_module_defines_a_msgspec_struct() -> None:
    """Mypyc rewrites a compiled class's annotations (`UUID | None` into `type`), which msgspec decodes by."""
    defining = [
        f"{name}.{node.name}"
        for name, tree in _compiled_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any("Struct" in ast.unparse(base) for base in node.bases)
    ]
    assert defining == []


def final_attributes(tree: ast.AST) -> list[str]:
    """Instance attributes declared Final (`self.x: Final = ...`), by line."""
    return [
        f"line {node.lineno}: {ast.unparse(node.target)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Attribute)
        and "Final" in ast.unparse(node.annotation)
    ]


def test_no_compiled_class_declares_a_final_attribute() -> None:
    """Mypyc borrows a Final attribute without a reference, yet may free its object first (docs/hot-path.md).

    `processing.plan` read `after.document` that way, then dropped `after`, its last reference, and
    passed the freed document on: a crash in its first batch.
    """
    found = [f"{name} {where}" for name, tree in _compiled_trees() for where in final_attributes(tree)]
    assert found == []


def test_the_final_attribute_check_finds_them() -> None:
    """The check above is not vacuous: an attribute declared Final is found; a module constant is not."""
    source = """
LIMIT: Final = 3
class A:
    def __init__(self, x: int) -> None:
        self.x: Final = x
        self.y: typing.Final[int] = x
        self.z = x
"""
    assert final_attributes(ast.parse(source)) == ["line 5: self.x", "line 6: self.y"]


def _awaits(nodes: list[ast.stmt]) -> bool:
    return any(isinstance(node, ast.Await) for statement in nodes for node in ast.walk(statement))


def unwinding_awaits(tree: ast.AST) -> list[str]:
    """Where a coroutine awaits while an exception unwinds or is handled: `async with`, `finally` or `except`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncWith):
            found.append(f"line {node.lineno}: async with")
        elif isinstance(node, ast.Try | ast.TryStar):
            if _awaits(node.finalbody):
                found.append(f"line {node.lineno}: await in finally")
            awaiting = [handler for handler in node.handlers if _awaits(handler.body)]
            found.extend(f"line {handler.lineno}: await in except" for handler in awaiting)
    return found


def test_no_compiled_coroutine_awaits_while_an_exception_unwinds() -> None:
    """Compiled code loses the exception (or crashes the process) when such an await suspends (docs/hot-path.md).

    An except block that awaits leaves its exception behind as the context of every later one.
    """
    found = [f"{name} {where}" for name, tree in _compiled_trees() for where in unwinding_awaits(tree)]
    assert found == []


def test_the_unwinding_check_finds_each_shape() -> None:
    """The check above is not vacuous: each shape it forbids is found; a handler that awaits after it, is not."""
    source = """
async def a(pool, fut):
    async with pool:
        pass
    try:
        await fut
    finally:
        await fut
    try:
        await fut
    except ValueError:
        await fut
        raise
    try:
        await fut
    except KeyError:
        failed = True
    if failed:
        await fut
"""
    assert unwinding_awaits(ast.parse(source)) == [
        "line 3: async with",
        "line 5: await in finally",
        "line 11: await in except",
    ]


def test_a_source_edited_after_its_build_is_reported_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check pytest runs before any test: a source newer than its build, or a build left from an older list."""
    package = tmp_path / "order_intake"
    (package / "domain").mkdir(parents=True)
    built = package / "domain" / "fields.cpython-311-x86_64-linux-gnu.so"
    source = package / "domain" / "fields.py"
    fresh_built = package / "logs.cpython-311-x86_64-linux-gnu.so"
    fresh_source = package / "logs.py"
    dropped_built = package / "metrics.cpython-311-x86_64-linux-gnu.so"
    dropped_source = package / "metrics.py"
    for path in (source, fresh_source, dropped_source):
        path.write_text("")
    for path in (built, fresh_built, dropped_built):
        path.write_bytes(b"")
    now = time.time()
    os.utime(built, (now - 10, now - 10))  # built, then the source edited
    os.utime(source, (now, now))
    os.utime(fresh_source, (now - 10, now - 10))  # edited, then built
    os.utime(fresh_built, (now, now))
    os.utime(dropped_source, (now - 10, now - 10))  # built, then left out of the list
    os.utime(dropped_built, (now, now))
    monkeypatch.setattr(compiled, "PACKAGE", package)
    listed = ["order_intake.domain.fields", "order_intake.logs"]
    assert compiled.stale_builds(listed) == ["order_intake/domain/fields.py", "order_intake/metrics.py"]
