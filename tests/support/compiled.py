"""The modules setup.py compiles with mypyc, and whether their builds are current."""

import ast
from pathlib import Path

import order_intake

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(order_intake.__file__).resolve().parent


def compiled_modules() -> list[str]:
    """The dotted names of setup.py's COMPILED modules."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets):
            paths = ast.literal_eval(node.value)
            return ["order_intake." + path.removesuffix(".py").replace("/", ".") for path in paths]
    raise AssertionError("setup.py has no COMPILED list")


def stale_builds(compiled: list[str] | None = None) -> list[str]:
    """Sources whose extension module in the package is older (edited since the build) or not in `compiled`.

    Either way Python imports the old build instead of the source. `compiled`: setup.py's list.
    """
    names = set(compiled_modules() if compiled is None else compiled)
    stale = []
    for built in sorted(PACKAGE.rglob("*.so")):
        source = built.with_name(built.name.split(".", 1)[0] + ".py")
        name = ".".join(source.relative_to(PACKAGE.parent).with_suffix("").parts)
        if source.exists() and (name not in names or source.stat().st_mtime > built.stat().st_mtime):
            stale.append(str(source.relative_to(PACKAGE.parent)))
    return stale
