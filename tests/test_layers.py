"""The layers of DESIGN §15 hold: imports point only downward, no module imports itself round a cycle.

``lint-imports`` checks the contract in pyproject.toml ([tool.importlinter]):
web and tools → flows and nodes → the engine → models → the core (statuses,
exceptions, the flow registry). Every import counts, one inside a function too,
so an upward import cannot hide in a function body.
"""

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent

#: the one cycle left, owned by the models helper (issue 24 part 2): their statements.py imports the models at
#: the top and the models no longer import it; then this set is empty and stays so
KNOWN_CYCLES = {frozenset({"viewflow.models", "viewflow.statements"})}

#: the modules of the web: nodes, flows and the engine import none of them
WEB = ("django.urls", "django.http", "django.views", "django.shortcuts", "django.template", "django.contrib.messages")


def test_the_import_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 kept, 0 broken" in done.stdout


def test_every_module_has_its_layer():
    """A new module of viewflow (or of viewflow.contrib) is placed in a layer of the contract, so it is checked."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    listed = {
        module.strip()
        for contract in config["contracts"]
        for layer in contract.get("layers", ())
        for module in layer.split(":")
    }
    graph = grimp.build_graph("viewflow", cache_dir=None)
    children = {module for module in graph.modules if module.count(".") == 1} - {"viewflow.contrib"}
    children |= {
        module for module in graph.modules if module.startswith("viewflow.contrib.") and module.count(".") == 2
    }
    assert sorted(children - listed) == []


def _cycles(graph):
    """The sets of viewflow modules that import each other round a cycle (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_cycle():
    cycles = set(_cycles(grimp.build_graph("viewflow", cache_dir=None)))
    assert cycles <= KNOWN_CYCLES, sorted(sorted(cycle) for cycle in cycles - KNOWN_CYCLES)


def test_the_cycle_finder_finds_a_cycle_closed_inside_a_function():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.low", "pkg.high"):
        graph.add_module(name)
    graph.add_import(importer="pkg.high", imported="pkg.low")
    graph.add_import(importer="pkg.low", imported="pkg.high")  # what a function-local import adds
    assert _cycles(graph) == [frozenset({"pkg.low", "pkg.high"})]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_nodes_flows_and_the_engine_import_nothing_of_the_web():
    core = [*(ROOT / "viewflow" / "flow").glob("*.py")] + [
        ROOT / "viewflow" / f"{name}.py"
        for name in ("base", "activation", "operations", "rules", "policy", "lock", "models", "registry", "references")
    ]
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in core
        for module in _imports(path)
        if module.startswith(WEB)
    )
    assert offenders == []
