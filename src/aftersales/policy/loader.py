"""Load a policy file and report every problem as ``FILE:LINE:COL: message``.

Why ruamel.yaml in round-trip mode: it keeps the line and column of every key and value,
so a pydantic error location such as ``('returns', 'window_days')`` can be mapped back to
the offending *value* in the merchant's file (or to the *key*, for an unknown key) — the
difference between "policy invalid" and "line 7: 10 is below the legal minimum of 14".
YAML 1.2 (ruamel's default) also keeps ``12:00`` a string and ``no`` a string, where YAML
1.1 would have read a cut-off as the number 720 and a country code NO as false.

Order of work: YAML syntax → pydantic (types, ranges, unknown keys) → whole-policy checks
(:mod:`.checks`: legal floors, money precision, consistency, clamps with warnings).
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from aftersales.policy.checks import Finding, check_policy_rules
from aftersales.policy.schema import Policy

__all__ = [
    "PolicyCheck",
    "PolicyError",
    "PolicyProblem",
    "check_policy_file",
    "check_policy_text",
    "load_policy",
    "parse_policy",
]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class PolicyProblem:
    """One error or warning, located in the file (line and column are 1-based)."""

    file: str
    line: int | None
    col: int | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line is not None else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class PolicyError(ValueError):
    """The policy file is invalid; ``problems`` lists every error (and the warnings found with them)."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def errors(self) -> list[PolicyProblem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass(frozen=True)
class PolicyCheck:
    """A valid policy and the warnings it produced (clamps already applied)."""

    policy: Policy
    warnings: tuple[PolicyProblem, ...]


# -- public entry points ------------------------------------------------------------------------------


def check_policy_text(text: str, filename: str = "<policy>") -> PolicyCheck:
    """Validate policy YAML; return the policy and its warnings, or raise :class:`PolicyError`."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise PolicyError([PolicyProblem(filename, line, col, f"YAML syntax error: {message}")]) from None
    except YAMLError as exc:
        raise PolicyError([PolicyProblem(filename, 1, 1, f"YAML error: {exc}")]) from None

    if root is None:
        raise PolicyError(
            [PolicyProblem(filename, 1, 1, "the policy file is empty: it needs at least a shop section")]
        )
    if not isinstance(root, CommentedMap):
        raise PolicyError(
            [
                PolicyProblem(
                    filename, 1, 1, f"a policy must be a mapping of sections, not a {type(root).__name__}"
                )
            ]
        )

    data = {str(k): _plain(v) for k, v in root.items() if not (v is None and str(k) in _OPTIONAL_SECTIONS)}
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(filename, root, error) for error in exc.errors(include_url=False)]
        raise PolicyError(_sorted(_dedupe(problems))) from None

    policy, findings = check_policy_rules(policy)
    problems = [_from_finding(filename, root, finding) for finding in findings]
    if any(p.severity == "error" for p in problems):
        raise PolicyError(_sorted(problems))
    return PolicyCheck(policy=policy, warnings=tuple(_sorted(problems)))


def check_policy_file(path: str | Path) -> PolicyCheck:
    """Read and validate a policy file; the file name in problems is ``path`` as given."""
    return check_policy_text(_read(path), str(path))


def parse_policy(text: str, filename: str = "<policy>") -> Policy:
    """Validate policy YAML text and return the :class:`Policy` (warnings are dropped; see check_policy_text)."""
    return check_policy_text(text, filename).policy


def load_policy(path: str | Path) -> Policy:
    """Read, validate and return the policy at ``path``; raise :class:`PolicyError` with FILE:LINE:COL problems."""
    return check_policy_file(path).policy


# -- reading --------------------------------------------------------------------------------------------

_OPTIONAL_SECTIONS = frozenset({"returns", "complaints", "guarantee", "restock", "notifications"})


def _read(path: str | Path) -> str:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(
            [PolicyProblem(name, None, None, f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyError([PolicyProblem(name, line, 1, "the file is not valid UTF-8")]) from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip objects → plain Python, so pydantic sees ints, floats, strs, dates."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, float):
        return float(node)
    if isinstance(node, int):
        # ruamel's ScalarBoolean is an int subclass (anchored booleans): keep it a bool.
        return bool(node) if type(node).__name__ == "ScalarBoolean" else int(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime):
        return datetime.fromisoformat(node.isoformat())
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    return node


# -- locating problems ----------------------------------------------------------------------------------


@dataclass
class _Where:
    line: int
    col: int
    path: str
    matched_all: bool


def _locate(root: CommentedMap, loc: Loc, *, at_key: bool = False) -> _Where:
    """Walk ``loc`` through the YAML tree; parts that are not keys (union tags, ``[key]``) are skipped."""
    node: Any = root
    key_pos: tuple[int, int] = (0, 0)
    value_pos: tuple[int, int] = (0, 0)
    path = ""
    matched_last = False
    for part in loc:
        matched_last = False
        if isinstance(node, CommentedMap):
            key = next((k for k in node if str(k) == str(part)), None)
            if key is None:
                continue
            key_pos = node.lc.key(key)
            child = node[key]
            value_pos = (
                key_pos
                if child is None or isinstance(child, CommentedMap | CommentedSeq)
                else node.lc.value(key)
            )
            path = f"{path}.{key}" if path else str(key)
            node, matched_last = child, True
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            item_pos = node.lc.item(part)
            key_pos = value_pos = item_pos
            child = node[part]
            if isinstance(child, CommentedMap | CommentedSeq):
                value_pos = (child.lc.line, child.lc.col)
            path = f"{path}[{part}]"
            node, matched_last = child, True
    line, col = key_pos if (at_key or not matched_last) else value_pos
    return _Where(line + 1, col + 1, path, matched_last)


def _from_pydantic(filename: str, root: CommentedMap, error: ErrorDetails) -> PolicyProblem:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    where = _locate(root, loc, at_key=kind == "extra_forbidden")
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        parent = where.path.rsplit(".", 1)[0] if "." in where.path else ""
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key {unknown!r}" + (f" in {parent}" if parent else "")
        if allowed:
            close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.75)
            message += (
                f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(allowed)})"
            )
        return PolicyProblem(filename, where.line, where.col, message)
    if kind == "missing":
        name = ".".join(str(p) for p in loc if isinstance(p, str) and not _is_tag(p))
        return PolicyProblem(filename, where.line, where.col, f"missing required key {name}")
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    label = where.path or ".".join(str(p) for p in loc)
    return PolicyProblem(filename, where.line, where.col, f"{label}: {message}" if label else message)


def _from_finding(filename: str, root: CommentedMap, finding: Finding) -> PolicyProblem:
    where = _locate(root, finding.loc)
    return PolicyProblem(filename, where.line, where.col, finding.message, finding.severity)


def _is_tag(part: str) -> bool:
    return part in ("day", "range") or "[" in part


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts (aliases where set), for "did you mean" hints."""
    current: Any = Policy
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if (f.alias or name) == part),
                None,
            )
            if field is None:
                continue
            current = field.annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (list, tuple) and args:
                current = args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional so the walk sees the model or container underneath."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            tp = models[0] if models else members[0]
        else:
            return tp


def _dedupe(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    seen: set[tuple[int | None, int | None, str]] = set()
    out: list[PolicyProblem] = []
    for p in problems:
        key = (p.line, p.col, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _sorted(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.col or 0, p.severity != "error"))
