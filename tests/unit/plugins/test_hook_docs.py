"""Every hook is documented and tested (as datasette does): an undocumented hook fails the build."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from aftersales import hookspecs

ROOT = Path(__file__).resolve().parents[3]
HOOKS = sorted(
    name
    for group in (hookspecs.RegistrationSpecs, hookspecs.DecisionSpecs, hookspecs.ObserverSpecs)
    for name, _ in inspect.getmembers(group, inspect.isfunction)
    if name.startswith("aftersales_")
)


def test_the_catalogue_is_not_empty() -> None:
    assert len(HOOKS) >= 11


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_section_in_the_plugin_guide(hook: str) -> None:
    guide = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert f"## {hook}\n" in guide, f"docs/hooks.md needs a '## {hook}' section with an example"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_spec_says_when_it_is_called_and_since_when(hook: str) -> None:
    doc = inspect.getdoc(getattr(_group_of(hook), hook)) or ""
    assert "versionadded" in doc
    assert "Kind:" in doc, "each hook states whether it is a decision, observer or registration hook"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    me = Path(__file__).resolve()
    users = [
        p
        for base in (ROOT / "tests", ROOT / "plugins")
        for p in base.rglob("test_*.py")
        if p.resolve() != me and f"def {hook}(" in p.read_text(encoding="utf-8")
    ]
    assert users, f"no test implements {hook}"


def _group_of(hook: str) -> type:
    for group in (hookspecs.RegistrationSpecs, hookspecs.DecisionSpecs, hookspecs.ObserverSpecs):
        if hasattr(group, hook):
            return group
    raise LookupError(hook)
