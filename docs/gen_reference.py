"""Generate the hook and policy references from the code (run by ``make docs``).

The references are generated so they cannot drift from ``hookspecs.py`` and the pydantic
policy schema; the hand-written guide (docs/hooks.md) explains, this lists.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

from aftersales import hookspecs

DOCS = Path(__file__).parent


def hook_reference() -> str:
    out = [
        "# Hook reference",
        "",
        "Generated from `src/aftersales/hookspecs.py` by `docs/gen_reference.py`; do not edit by hand.",
        "",
    ]
    for group in (hookspecs.RegistrationSpecs, hookspecs.DecisionSpecs, hookspecs.ObserverSpecs):
        out += [f"## {inspect.getdoc(group)}", ""]
        for name, fn in inspect.getmembers(group, inspect.isfunction):
            if not name.startswith("aftersales_"):
                continue
            sig = str(inspect.signature(fn)).replace("(self, ", "(").replace("(self)", "()")
            opts = getattr(fn, "aftersales_spec", {}) or {}
            first = " (firstresult)" if opts.get("firstresult") else ""
            out += [f"### `{name}`{first}", "", "```python", f"def {name}{sig}", "```", ""]
            out += [(inspect.getdoc(fn) or "").replace(".. versionadded::", "Added in version"), ""]
    return "\n".join(out)


def policy_reference() -> str:
    from aftersales.policy.schema import Policy

    schema = Policy.model_json_schema()
    out = [
        "# Policy file reference",
        "",
        "Generated from the pydantic schema (`aftersales.policy.schema.Policy`) by `docs/gen_reference.py`.",
        "`aftersales policy schema` prints the same JSON Schema for editors.",
        "",
    ]
    defs = schema.get("$defs", {})

    def section(title: str, node: dict[str, object]) -> None:
        props = node.get("properties", {})
        if not isinstance(props, dict) or not props:
            return
        out.extend([f"## {title}", "", "| key | type | default | description |", "|---|---|---|---|"])
        for key, spec in props.items():
            typ = spec.get("type") or spec.get("$ref", "").split("/")[-1] or "any"
            if "anyOf" in spec:
                typ = " or ".join(s.get("type") or s.get("$ref", "").split("/")[-1] for s in spec["anyOf"])
            default = json.dumps(spec["default"]) if "default" in spec else "required"
            desc = str(spec.get("description", "")).replace("\n", " ").replace("|", "\\|")
            out.append(f"| `{key}` | {typ} | `{default}` | {desc} |")
        out.append("")

    section("Top level", schema)
    for name, node in sorted(defs.items()):
        section(name, node)
    return "\n".join(out)


if __name__ == "__main__":
    (DOCS / "reference").mkdir(exist_ok=True)
    (DOCS / "reference" / "hooks.md").write_text(hook_reference() + "\n", encoding="utf-8")
    (DOCS / "reference" / "policy.md").write_text(policy_reference() + "\n", encoding="utf-8")
