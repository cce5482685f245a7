"""The structure docs/architecture.md promises: apps depend downward only, with no import circle,
and no module grows past what a newcomer can read in one go."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings

BASE = Path(settings.BASE_DIR)
# odr <- agencies <- disputes <- the apps at the top (relay, portal, casework, api, ...).
LAYER = {"odr": 0, "agencies": 1, "disputes": 2}
TOP = 3
MAX_MODULE_LINES = 600


def project_apps() -> list[str]:
    """The project's own packages: odr and every installed app that lives in this repository."""
    local = {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == BASE  # not the libraries in .venv
    }
    return sorted(local | {"odr"})


def modules(app: str):
    for path in sorted((BASE / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imported_apps(path: Path, known: set[str]) -> set[str]:
    """The other project apps a module imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & known
    return found - {path.relative_to(BASE).parts[0]}


def dependency_graph() -> dict[str, dict[str, list[str]]]:
    """{app: {imported app: [modules that import it]}}."""
    known = set(project_apps())
    graph: dict[str, dict[str, list[str]]] = {app: {} for app in known}
    for app in known:
        for path in modules(app):
            for other in imported_apps(path, known):
                graph[app].setdefault(other, []).append(str(path.relative_to(BASE)))
    return graph


def test_the_graph_covers_the_apps_the_architecture_names():
    assert {"odr", "agencies", "disputes", "relay", "portal", "casework", "api"} <= set(
        project_apps()
    )


def test_apps_depend_downward_only():
    upward = [
        f"{app} imports {other} in {', '.join(where)}"
        for app, imports in dependency_graph().items()
        for other, where in imports.items()
        if LAYER.get(other, TOP) >= LAYER.get(app, TOP) and LAYER.get(app, TOP) < TOP
    ]
    assert upward == []


def test_the_domain_imports_none_of_its_listeners():
    graph = dependency_graph()
    assert set(graph["disputes"]) <= {"odr", "agencies"}


def test_there_is_no_import_circle_among_the_apps():
    graph = {app: set(imports) for app, imports in dependency_graph().items()}
    circles = []

    def visit(app: str, path: list[str]) -> None:
        for other in sorted(graph[app]):
            if other in path:
                circles.append(" -> ".join([*path[path.index(other) :], other]))
            else:
                visit(other, [*path, other])

    for app in sorted(graph):
        visit(app, [app])
    assert circles == []


def test_no_module_of_the_apps_is_longer_than_the_limit():
    long = [
        f"{path.relative_to(BASE)}: {lines} lines"
        for app in project_apps()
        for path in modules(app)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []
