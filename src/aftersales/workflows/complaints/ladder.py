"""The remedy ladder for non-conforming goods (art. 43d → 43e u.p.k.; Directive 2019/771 art. 13).

The law orders the remedies in two rungs:

1. **Repair or replacement** (art. 43d ust. 1): the consumer chooses. The trader may give the
   other one instead when the chosen one is impossible or would cost it disproportionately
   much (art. 43d ust. 2), and may refuse both when both are (art. 43d ust. 3).
2. **Price reduction or withdrawal** (art. 43e ust. 1) only when:
   (1) the trader refused, or did not repair or replace in time and at its cost (43d ust. 3-6),
   (2) the lack of conformity persists although the trader tried to fix it,
   (3) the lack of conformity is so serious that it justifies going there at once, or
   (4) it is clear from the trader's statement or the circumstances that it will not fix
   it in reasonable time or without excessive inconvenience.
   Withdrawal is not available for an insignificant lack of conformity (art. 43e ust. 3;
   the lack is presumed significant, so the trader must say otherwise).

Money owed after a price reduction or withdrawal is paid in money (the payment method the
consumer used), within 14 days; a voucher may not be imposed instead.

This module is pure: a :class:`Ladder` records the facts of one case (what was demanded,
refused, tried; which grounds for the second rung are established) and each step returns a
new ladder or raises :class:`LadderViolation` with the rule it breaks. The workflow stores
the ladder in ``Case.data["ladder"]`` and asks it before every move, so an illegal jump is
refused before anything is written.

Hand-written: the rules are the statute's, a dozen conditions, and no library encodes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from aftersales.decisions import Remedy

__all__ = [
    "FIX_REMEDIES",
    "MONEY_REMEDIES",
    "AnswerKind",
    "Ground",
    "Ladder",
    "LadderViolation",
    "SwitchReason",
    "TraderAnswer",
]

FIX_REMEDIES: frozenset[Remedy] = frozenset({Remedy.REPAIR, Remedy.REPLACE})
MONEY_REMEDIES: frozenset[Remedy] = frozenset({Remedy.PRICE_REDUCTION, Remedy.WITHDRAW})

RULE_FIRST_RUNG = "art. 43d ust. 1 u.p.k."
RULE_SWITCH = "art. 43d ust. 2 u.p.k."
RULE_REFUSE = "art. 43d ust. 3 u.p.k."
RULE_SECOND_RUNG = "art. 43e ust. 1 u.p.k."
RULE_INSIGNIFICANT = "art. 43e ust. 3 u.p.k."


class Ground(StrEnum):
    """Why the second rung (price reduction, withdrawal) is open: art. 43e ust. 1."""

    TRADER_REFUSED = "trader_refused"
    """The trader refused repair and replacement (43d ust. 3) — pkt 1."""
    NOT_PERFORMED = "not_performed"
    """The trader did not repair or replace in reasonable time / at its cost — pkt 1."""
    DEFECT_PERSISTS = "defect_persists"
    """The lack of conformity persists although the trader tried — pkt 2."""
    SERIOUS_DEFECT = "serious_defect"
    """So serious that it justifies an immediate price reduction or withdrawal — pkt 3."""
    TRADER_WONT = "trader_wont"
    """Clear from the trader's statement that it will not fix it in reasonable time — pkt 4."""


CONSUMER_CLAIMABLE: frozenset[Ground] = frozenset({Ground.SERIOUS_DEFECT, Ground.TRADER_WONT})
"""Grounds a consumer may invoke on their own word (the trader may dispute them); the others
are facts the case itself records (a refusal, a failed or late repair)."""


class SwitchReason(StrEnum):
    IMPOSSIBLE = "impossible"
    DISPROPORTIONATE = "disproportionate"
    """Disproportionately costly for the trader compared with the other remedy (43d ust. 2)."""
    INSIGNIFICANT = "insignificant"
    """The lack of conformity is insignificant: no withdrawal, a price reduction instead (43e ust. 3)."""
    GROUND_DISPUTED = "ground_disputed"
    """The trader disputes the consumer's claimed ground (e.g. that the defect is serious)."""


class AnswerKind(StrEnum):
    ACCEPT = "accept"
    """The complaint is accepted with the consumer's demanded remedy."""
    SWITCH = "switch"
    """Accepted, with another remedy than demanded, for a lawful reason."""
    REFUSE_REMEDIES = "refuse_remedies"
    """The lack of conformity is acknowledged but repair and replacement are both refused (43d ust. 3)."""
    REJECT = "reject"
    """The complaint is not founded (no lack of conformity, outside liability...)."""


class LadderViolation(ValueError):
    """A step the ladder does not allow; ``rule`` is the article it would break."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(f"{message} ({rule})")
        self.reason = message
        self.rule = rule


@dataclass(frozen=True)
class TraderAnswer:
    """The trader's answer to a complaint, as the ladder judges it."""

    kind: AnswerKind
    remedy: Remedy | None = None
    because: SwitchReason | None = None


def _remedy(value: Remedy | str | None) -> Remedy | None:
    if value is None or value == "":
        return None
    try:
        return Remedy(value)
    except ValueError:
        known = ", ".join(r.value for r in Remedy)
        raise LadderViolation(
            f"unknown remedy {value!r} (expected one of: {known})", RULE_FIRST_RUNG
        ) from None


def _other_fix(remedy: Remedy) -> Remedy:
    return Remedy.REPLACE if remedy is Remedy.REPAIR else Remedy.REPAIR


@dataclass(frozen=True)
class Ladder:
    """The facts of one complaint that decide which remedies are lawful next."""

    demanded: Remedy | None = None
    """What the consumer asks for now (None: not stated yet, e.g. a free-form e-mail)."""
    claimed: Ground | None = None
    """The ground the consumer invoked for a money remedy on their own word."""
    grounds: frozenset[Ground] = frozenset()
    """Established grounds for the second rung (recorded by the case itself)."""
    refused: frozenset[Remedy] = frozenset()
    """Fix remedies the trader declared impossible or disproportionate."""
    tried: tuple[Remedy, ...] = ()
    """Repairs/replacements carried out so far, in order."""
    insignificant: bool = False
    """The trader stated the lack of conformity is insignificant (no withdrawal, 43e ust. 3)."""
    granted: Remedy | None = None
    """The remedy the trader (or the law, on deemed acceptance) granted last."""
    history: tuple[dict[str, str], ...] = field(default_factory=tuple)
    """Every step, for the case's trace."""

    # -- what is open ---------------------------------------------------------------------------------
    @property
    def second_rung_open(self) -> bool:
        return bool(self.grounds) or self.claimed is not None

    def allowed(self) -> frozenset[Remedy]:
        """Remedies the consumer may ask for now."""
        open_fix = {r for r in FIX_REMEDIES if r not in self.refused}
        if Ground.TRADER_REFUSED in self.grounds:
            open_fix = set()
        money: set[Remedy] = set()
        if self.grounds:
            money = {Remedy.PRICE_REDUCTION} if self.insignificant else set(MONEY_REMEDIES)
        return frozenset(open_fix | money)

    def _step(self, **changes: Any) -> Ladder:
        note = {k: str(v) for k, v in changes.pop("note").items() if v is not None}
        return replace(self, history=(*self.history, note), **changes)

    # -- the consumer's steps ------------------------------------------------------------------------
    def demand(self, remedy: Remedy | str, ground: Ground | str | None = None) -> Ladder:
        """The consumer asks for ``remedy`` (at intake, or later on the second rung)."""
        wanted = _remedy(remedy)
        if wanted is None:
            raise LadderViolation("say which remedy you ask for", RULE_FIRST_RUNG)
        claimed = Ground(ground) if ground else None
        if wanted in FIX_REMEDIES:
            if Ground.TRADER_REFUSED in self.grounds:
                raise LadderViolation(
                    "the trader refused repair and replacement; choose a price reduction or withdrawal",
                    RULE_REFUSE,
                )
            if wanted in self.refused:
                raise LadderViolation(
                    f"the trader showed that {wanted.value} is impossible or disproportionately costly; "
                    f"ask for {_other_fix(wanted).value} instead",
                    RULE_SWITCH,
                )
            return self._step(demanded=wanted, claimed=None, note={"step": "demand", "remedy": wanted})
        # the second rung
        if claimed is not None and claimed not in CONSUMER_CLAIMABLE and claimed not in self.grounds:
            raise LadderViolation(
                f"'{claimed.value}' is not established on this case: it opens a price reduction or "
                "withdrawal only after a refused, late or failed repair or replacement",
                RULE_SECOND_RUNG,
            )
        if not self.second_rung_open and claimed is None:
            raise LadderViolation(
                f"a {wanted.value.replace('_', ' ')} comes only after repair or replacement was refused, "
                "not done in time or did not help, or for a serious defect; ask for repair or replacement "
                "first, or state that the defect is serious",
                RULE_SECOND_RUNG,
            )
        if wanted is Remedy.WITHDRAW and self.insignificant:
            raise LadderViolation(
                "the lack of conformity was found insignificant: withdrawal is not available, "
                "a price reduction is",
                RULE_INSIGNIFICANT,
            )
        return self._step(
            demanded=wanted,
            claimed=claimed if claimed in CONSUMER_CLAIMABLE else self.claimed,
            note={"step": "demand", "remedy": wanted, "ground": claimed},
        )

    # -- the trader's steps --------------------------------------------------------------------------
    def answer(self, answer: TraderAnswer) -> Ladder:
        """Judge the trader's answer; the returned ladder records it."""
        kind = answer.kind
        remedy = _remedy(answer.remedy)
        note = {"step": f"answer:{kind.value}", "remedy": remedy, "because": answer.because}
        if kind is AnswerKind.REJECT:
            return self._step(granted=None, note=note)
        if kind is AnswerKind.REFUSE_REMEDIES:
            return self._refuse(answer.because, note)
        if remedy is None:
            remedy = self.demanded
            note["remedy"] = remedy
        if remedy is None:
            raise LadderViolation("an accepted complaint names the remedy the trader grants", RULE_FIRST_RUNG)
        if kind is AnswerKind.ACCEPT:
            if self.demanded is not None and remedy is not self.demanded:
                raise LadderViolation(
                    f"the consumer asked for {self.demanded.value}; granting {remedy.value} instead is a "
                    "switch, and needs its reason",
                    RULE_SWITCH,
                )
            if self.demanded is None and remedy in MONEY_REMEDIES and not self.grounds:
                raise LadderViolation(
                    "a price reduction or withdrawal cannot be imposed: offer repair or replacement, "
                    "or refuse both so the consumer may choose",
                    RULE_SECOND_RUNG,
                )
            return self._step(granted=remedy, note=note)
        return self._switch(remedy, answer.because, note)

    def _refuse(self, because: SwitchReason | None, note: dict[str, Any]) -> Ladder:
        if self.demanded in MONEY_REMEDIES:
            raise LadderViolation(
                "the consumer asks for a price reduction or withdrawal; refusing repair and replacement "
                "answers nothing — accept, or dispute the ground and offer a repair or replacement",
                RULE_REFUSE,
            )
        if because not in (SwitchReason.IMPOSSIBLE, SwitchReason.DISPROPORTIONATE):
            raise LadderViolation(
                "repair and replacement may be refused only when both are impossible or disproportionately costly",
                RULE_REFUSE,
            )
        return self._step(
            refused=frozenset(FIX_REMEDIES),
            grounds=self.grounds | {Ground.TRADER_REFUSED},
            granted=None,
            note=note,
        )

    def _switch(self, remedy: Remedy, because: SwitchReason | None, note: dict[str, Any]) -> Ladder:
        demanded = self.demanded
        if demanded is None or remedy is demanded:
            return self._step(granted=remedy, note=note)
        if demanded in FIX_REMEDIES:
            if remedy in MONEY_REMEDIES:
                raise LadderViolation(
                    f"the consumer asked for {demanded.value}; a {remedy.value.replace('_', ' ')} cannot be "
                    "imposed instead — offer the other fix, or refuse both so the consumer may choose",
                    RULE_SECOND_RUNG,
                )
            if because not in (SwitchReason.IMPOSSIBLE, SwitchReason.DISPROPORTIONATE):
                raise LadderViolation(
                    f"{remedy.value} instead of {demanded.value} only when {demanded.value} is impossible "
                    "or disproportionately costly",
                    RULE_SWITCH,
                )
            if remedy in self.refused:
                raise LadderViolation(
                    f"{remedy.value} was already declared impossible or disproportionate", RULE_SWITCH
                )
            return self._step(refused=self.refused | {demanded}, granted=remedy, note=note)
        # the consumer asked for money
        if demanded is Remedy.WITHDRAW and remedy is Remedy.PRICE_REDUCTION:
            if because is not SwitchReason.INSIGNIFICANT:
                raise LadderViolation(
                    "withdrawal may be turned into a price reduction only when the lack of conformity "
                    "is insignificant",
                    RULE_INSIGNIFICANT,
                )
            return self._step(insignificant=True, granted=remedy, note=note)
        if remedy in FIX_REMEDIES:
            if because is not SwitchReason.GROUND_DISPUTED:
                raise LadderViolation(
                    f"the consumer is on the second rung ({demanded.value}); offering {remedy.value} "
                    "instead needs the trader to dispute the ground",
                    RULE_SECOND_RUNG,
                )
            if self.grounds:
                established = ", ".join(sorted(g.value for g in self.grounds))
                raise LadderViolation(
                    f"the ground is established on this case ({established}); the trader can no longer "
                    f"send the consumer back to {remedy.value}",
                    RULE_SECOND_RUNG,
                )
            if remedy in self.refused:
                raise LadderViolation(
                    f"{remedy.value} was already declared impossible or disproportionate", RULE_SWITCH
                )
            return self._step(claimed=None, granted=remedy, note=note)
        raise LadderViolation(
            f"the consumer chose {demanded.value}; the trader may not swap it for {remedy.value}",
            RULE_SECOND_RUNG,
        )

    # -- what happened to a granted fix ------------------------------------------------------------
    def fix_tried(self, remedy: Remedy | str) -> Ladder:
        fixed = _remedy(remedy)
        if fixed not in FIX_REMEDIES:
            raise LadderViolation("only a repair or a replacement is 'tried'", RULE_FIRST_RUNG)
        return self._step(tried=(*self.tried, fixed), note={"step": "tried", "remedy": fixed})

    def establish(self, ground: Ground | str) -> Ladder:
        """Record a fact that opens the second rung (a failed or late repair, a persisting defect)."""
        fact = Ground(ground)
        return self._step(grounds=self.grounds | {fact}, note={"step": "established", "ground": fact})

    # -- storage ---------------------------------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        return {
            "demanded": self.demanded.value if self.demanded else None,
            "claimed": self.claimed.value if self.claimed else None,
            "grounds": sorted(g.value for g in self.grounds),
            "refused": sorted(r.value for r in self.refused),
            "tried": [r.value for r in self.tried],
            "insignificant": self.insignificant,
            "granted": self.granted.value if self.granted else None,
            "history": [dict(h) for h in self.history],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Ladder:
        if not data:
            return cls()

        def remedies(values: Iterable[str]) -> tuple[Remedy, ...]:
            return tuple(Remedy(v) for v in values)

        return cls(
            demanded=_remedy(data.get("demanded")),
            claimed=Ground(data["claimed"]) if data.get("claimed") else None,
            grounds=frozenset(Ground(g) for g in data.get("grounds", ())),
            refused=frozenset(remedies(data.get("refused", ()))),
            tried=remedies(data.get("tried", ())),
            insignificant=bool(data.get("insignificant", False)),
            granted=_remedy(data.get("granted")),
            history=tuple(dict(h) for h in data.get("history", ())),
        )
