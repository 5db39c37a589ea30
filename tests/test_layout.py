"""The package's folders follow the pipeline, and no module imports its way back up it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "assistant"
LAYERS = [
    "assistant.ingest",
    "assistant.indexing",
    "assistant.search",
    "assistant.answer",
    "assistant.interfaces.api",
    "assistant.evaluation",
    "assistant.interfaces",
]
"""In pipeline order: a module may import the shared top-level modules (settings, models, text,
...) and modules of its own or an earlier layer. Evaluation drives the Python API; the CLI and
the UI are shells over both. The shared modules import no layer."""
ENTRY_POINTS = {"assistant", "assistant.__main__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> int | None:
    matches = [i for i, prefix in enumerate(LAYERS) if f"{module}.".startswith(f"{prefix}.")]
    return max(matches, key=lambda i: len(LAYERS[i])) if matches else None


def _imports(path: Path) -> set[str]:
    """Every ``assistant`` module the file imports, anywhere in it (function-level and
    ``TYPE_CHECKING`` imports included: a cycle through them is still a cycle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES}


def _graph() -> dict[str, set[str]]:
    return {name: _imports(path) - {name} for name, path in MODULES.items()}


def test_no_import_cycles():
    graph = _graph()
    assert len(graph) > 30 and sum(map(len, graph.values())) > 100  # the walk found the package
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_stages_import_only_earlier_stages():
    wrong = []
    for name, targets in _graph().items():
        if name in ENTRY_POINTS:
            continue
        own = _layer(name)
        for target in targets:
            theirs = _layer(target)
            if target in ENTRY_POINTS or (theirs is not None and (own is None or theirs > own)):
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong
