"""The layer rules of docs/architecture.md, read from the source (lazy imports inside functions too):

- `slant/` is the core: it imports nothing from `serving/` or `training/`, except the CLI's
  training commands, which import `training` inside the command (never at import time);
- `serving/` imports nothing from `training/`, and never torch or transformers;
- no project modules import each other in a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("slant", "serving", "training")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, is_package: bool = False) -> dict[str, bool]:
    """{imported name: imported at module level} for one module's source (relative imports resolved;
    ``from a import b`` yields both ``a`` and ``a.b``)."""
    tree = ast.parse(source)
    package = name if is_package else name.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for imported in names:
            found[imported] = found.get(imported, False) or id(node) in top_level
    return found


def layer_violations(imports: dict[str, dict[str, bool]]) -> list[str]:
    out = []
    for name, targets in sorted(imports.items()):
        home = name.split(".")[0]
        for target, at_import in sorted(targets.items()):
            other = target.split(".")[0]
            if home == "slant" and other == "serving":
                out.append(f"{name} imports {target}: the core must not import serving")
            elif home == "slant" and other == "training" and (not name.startswith("slant.cli") or at_import):
                out.append(f"{name} imports {target}: only the CLI's training commands may, inside the command")
            elif home == "serving" and other in ("training", "torch", "transformers"):
                out.append(f"{name} imports {target}: serving must not import training or torch")
    return out


def import_cycles(imports: dict[str, dict[str, bool]], packages: set[str]) -> list[list[str]]:
    """Cycles among the modules of ``imports`` (a package's own __init__ re-exporting its modules
    is not a cycle)."""
    graph = {
        name: {
            t
            for t in targets
            if t in imports
            and t != name
            and not (name in packages and t.startswith(name + "."))
            and not (t in packages and name.startswith(t + "."))
        }
        for name, targets in imports.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def project() -> tuple[dict[str, dict[str, bool]], set[str]]:
    paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    imports = {module_name(p): imports_of(p.read_text(), module_name(p), p.name == "__init__.py") for p in paths}
    return imports, {module_name(p) for p in paths if p.name == "__init__.py"}


def test_layers_hold():
    imports, _ = project()
    assert layer_violations(imports) == []


def test_no_import_cycles():
    imports, packages = project()
    assert import_cycles(imports, packages) == []


def test_the_checks_catch_each_kind_of_breach():
    breaches = {
        "slant.answer": imports_of("from serving.schemas import Answer", "slant.answer"),
        "slant.predictor": imports_of("def f():\n    from training.train import load_model", "slant.predictor"),
        "slant.cli": imports_of("from training.config import TrainConfig", "slant.cli"),
        "serving.service": imports_of("import torch", "serving.service"),
        "serving.reload": imports_of("from ..training import export", "serving.reload"),
    }
    assert {v.split()[0] for v in layer_violations(breaches)} == set(breaches)
    allowed = {"slant.cli": imports_of("def train():\n    from training.train import train", "slant.cli")}
    assert layer_violations(allowed) == []
    loop = {"a.x": imports_of("from a import y", "a.x"), "a.y": imports_of("def f():\n    import a.x", "a.y")}
    assert import_cycles(loop, set()) == [["a.x", "a.y", "a.x"]]
