"""The project's shape: layers point one way, docs name every command and setting, CI runs README's tests."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import click

from crawler.config import Settings
from scheduler.cli import main
from tests.conftest import ROOT

# Which packages each layer may import (store <- crawler <- scheduler).
ALLOWED = {"store": {"store"}, "crawler": {"store", "crawler"}, "scheduler": {"store", "crawler", "scheduler"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_layers_point_one_way() -> None:
    for layer, allowed in ALLOWED.items():
        for path in (ROOT / layer).rglob("*.py"):
            ours = _imports(path) & set(ALLOWED)
            assert ours <= allowed, f"{path.relative_to(ROOT)} imports {sorted(ours - allowed)}"


def test_store_knows_nothing_of_scrapy_or_trafilatura() -> None:
    for path in (ROOT / "store").rglob("*.py"):
        assert not _imports(path) & {"scrapy", "trafilatura", "twisted"}, path


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        out.append((full, cmd))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, full + " "))
    return out


def test_every_command_has_an_example_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, cmd in [("", main), *_commands(main)]:
        assert "Example:" in (cmd.help or ""), f"newsmon {name} --help has no example"
        if name and not isinstance(cmd, click.Group):
            assert f"`newsmon {name}" in readme, f"README.md does not document `newsmon {name}`"


def test_every_setting_and_env_var_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for f in fields(Settings):
        assert f"`{f.name}`" in readme and f"`NEWSMON_{f.name.upper()}`" in readme, f.name
    used = set()
    for path in [*ROOT.glob("crawler/**/*.py"), *ROOT.glob("scheduler/**/*.py"), *ROOT.glob("store/**/*.py")]:
        used.update(re.findall(r"NEWSMON_[A-Z_]+", path.read_text(encoding="utf-8")))
    for var in used:
        assert f"`{var}`" in readme, f"{var} is not documented in README.md"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if "pytest" in line
                and not line.lstrip().startswith("#")]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in readme
