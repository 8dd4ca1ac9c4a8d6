"""The shop policy file: schema, loader with FILE:LINE:COL errors, legal floors.

Public surface::

    from aftersales.policy import Policy, load_policy, parse_policy, PolicyError

    policy = load_policy("examples/policies/pl-shop.yaml")
    policy.returns.window_days          # 30
    policy.shop_calendar()              # business days for the shipping promise
"""

from __future__ import annotations

from typing import Any

from aftersales.law.profiles import get_profile
from aftersales.policy.loader import (
    PolicyCheck,
    PolicyError,
    PolicyProblem,
    check_policy_file,
    check_policy_text,
    load_policy,
    parse_policy,
)
from aftersales.policy.schema import Policy

__all__ = [
    "Policy",
    "PolicyCheck",
    "PolicyError",
    "PolicyProblem",
    "check_policy_file",
    "check_policy_text",
    "default_policy",
    "load_policy",
    "parse_policy",
    "policy_json_schema",
]


def default_policy(
    name: str = "Shop",
    jurisdiction: str = "PL",
    *,
    currency: str | None = None,
    timezone: str | None = None,
    **sections: Any,
) -> Policy:
    """A valid policy with lawful defaults: the jurisdiction's currency and time zone unless given.

    ``sections`` override whole sections (``returns={"window_days": 30}``); the result passes
    the same legal checks as a file (a :class:`PolicyError` names the broken rule).
    """
    profile = get_profile(jurisdiction)
    zone = timezone or profile.default_timezone
    if zone is None:
        raise ValueError(f"jurisdiction {profile.code} has no single time zone: pass timezone=...")
    data: dict[str, Any] = {
        "shop": {
            "name": name,
            "jurisdiction": profile.code,
            "currency": currency or profile.default_currency,
            "timezone": zone,
        },
        **sections,
    }
    from aftersales.policy.checks import check_policy_rules

    policy, findings = check_policy_rules(Policy.model_validate(data))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise PolicyError([PolicyProblem("<default_policy>", None, None, f.message) for f in errors])
    return policy


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the policy file, for editors' autocompletion and validation."""
    schema = Policy.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "aftersales shop policy",
    }
