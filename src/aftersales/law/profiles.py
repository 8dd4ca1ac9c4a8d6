"""Jurisdiction profiles: the statutory numbers and the articles they come from.

A profile is data, not code: the clocks (:mod:`aftersales.law.clocks`) and the policy floors
(:mod:`aftersales.policy.floors`) read it, and every error or trace quotes its ``*_rule``
text, so a merchant sees *which* law a number comes from.

Profiles encoded:

- ``PL`` — Polish consumer law (ustawa o prawach konsumenta, "u.p.k."; kodeks cywilny, "k.c.");
- ``EU`` — the default for any EU shop without a more specific profile: the harmonised rules
  of Directive 2011/83/EU (withdrawal) and Directive 2019/771 (conformity), and for what
  the directives leave to member states (how fast a complaint must be answered) the
  *strictest* rule encoded here (14 days, as in Poland) so that a shop relying on the
  default never misses a national deadline we know of;
- ``CZ`` and ``SK`` — as EU, but a complaint must be settled within 30 days;
- every other member state code ("DE", "FR", ...) — the EU default rules with that
  country's public holidays and time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "PROFILES",
    "JurisdictionProfile",
    "UnknownJurisdiction",
    "get_profile",
    "supported_jurisdictions",
]


class UnknownJurisdiction(ValueError):
    """A jurisdiction code with no profile."""


@dataclass(frozen=True)
class JurisdictionProfile:
    """The statutory clocks and floors of one jurisdiction (numbers + their legal source)."""

    code: str
    name: str
    holiday_country: str | None
    """ISO country whose public holidays shift deadlines; None = weekends only (EU default)."""
    default_timezone: str | None
    """The shop time zone assumed when none is given; None where a country spans several."""
    default_currency: str
    default_language: str

    withdrawal_days: int = 14
    withdrawal_rule: str = "Directive 2011/83/EU art. 9"
    not_informed_extension_months: int = 12
    not_informed_rule: str = "Directive 2011/83/EU art. 10"
    refund_days: int = 14
    refund_rule: str = "Directive 2011/83/EU art. 13(1)"
    refund_withholding_rule: str = "Directive 2011/83/EU art. 13(3)"
    goods_return_days: int = 14
    goods_return_rule: str = "Directive 2011/83/EU art. 14(1)"
    withdrawal_cost_rule: str = "Directive 2011/83/EU art. 13(1)-(2) and art. 14(5)"
    complaint_answer_days: int = 14
    complaint_answer_rule: str = (
        "no EU-wide deadline (Directive 2019/771 leaves it to member states); the EU default "
        "applies the strictest encoded national rule, 14 days (as art. 7a u.p.k.)"
    )
    complaint_liability_years: int = 2
    complaint_liability_rule: str = "Directive 2019/771 art. 10(1)"
    guarantee_default_days: int = 14
    guarantee_default_rule: str = (
        "commercial guarantee with no stated term (conservative default, as art. 580 § 1 k.c.)"
    )
    counting_rule: str = "Regulation 1182/71 art. 3(1)"
    shift_rule: str = "Regulation 1182/71 art. 3(4), applied to the Directive's periods by its recital 41"

    @property
    def withdrawal_floor_message(self) -> str:
        return (
            f"statutory withdrawal window is {self.withdrawal_days} days from delivery "
            f"({self.withdrawal_rule})"
        )


_PL = JurisdictionProfile(
    code="PL",
    name="Poland",
    holiday_country="PL",
    default_timezone="Europe/Warsaw",
    default_currency="PLN",
    default_language="pl",
    withdrawal_rule="art. 27 u.p.k. / Directive 2011/83/EU art. 9",
    not_informed_rule="art. 29 u.p.k. / Directive 2011/83/EU art. 10",
    refund_rule="art. 32 ust. 1 u.p.k. / Directive 2011/83/EU art. 13(1)",
    refund_withholding_rule="art. 32 ust. 3 u.p.k. / Directive 2011/83/EU art. 13(3)",
    goods_return_rule="art. 34 ust. 1 u.p.k. / Directive 2011/83/EU art. 14(1)",
    withdrawal_cost_rule="art. 32-34 u.p.k. / Directive 2011/83/EU art. 13-14",
    complaint_answer_days=14,
    complaint_answer_rule="art. 7a u.p.k.: answer within 14 days or the complaint is deemed accepted",
    complaint_liability_rule="art. 43c ust. 1 u.p.k. / Directive 2019/771 art. 10(1)",
    guarantee_default_rule="art. 580 § 1 k.c.: with no term in the guarantee, 14 days from receiving the item",
    counting_rule="art. 111 § 2 k.c. / Regulation 1182/71 art. 3(1)",
    shift_rule="art. 115 k.c. / Regulation 1182/71 art. 3(4)",
)

_EU = JurisdictionProfile(
    code="EU",
    name="European Union (default)",
    holiday_country=None,
    default_timezone=None,
    default_currency="EUR",
    default_language="en",
)

_CZ = replace(
    _EU,
    code="CZ",
    name="Czechia",
    holiday_country="CZ",
    default_timezone="Europe/Prague",
    default_currency="CZK",
    default_language="cs",
    withdrawal_rule="§ 1829 občanského zákoníku / Directive 2011/83/EU art. 9",
    complaint_answer_days=30,
    complaint_answer_rule="Czech consumer law (občanský zákoník): a complaint is settled within 30 days",
)

_SK = replace(
    _EU,
    code="SK",
    name="Slovakia",
    holiday_country="SK",
    default_timezone="Europe/Bratislava",
    default_currency="EUR",
    default_language="sk",
    complaint_answer_days=30,
    complaint_answer_rule="Slovak consumer protection act (zákon č. 108/2024 Z.z.): a complaint is settled within 30 days",
)

# Other member states: EU default rules, national holidays, capital's time zone.
_MEMBER_STATES: dict[str, tuple[str, str, str, str]] = {
    "AT": ("Austria", "Europe/Vienna", "EUR", "de"),
    "BE": ("Belgium", "Europe/Brussels", "EUR", "nl"),
    "BG": ("Bulgaria", "Europe/Sofia", "EUR", "bg"),
    "HR": ("Croatia", "Europe/Zagreb", "EUR", "hr"),
    "CY": ("Cyprus", "Asia/Nicosia", "EUR", "el"),
    "DK": ("Denmark", "Europe/Copenhagen", "DKK", "da"),
    "EE": ("Estonia", "Europe/Tallinn", "EUR", "et"),
    "FI": ("Finland", "Europe/Helsinki", "EUR", "fi"),
    "FR": ("France", "Europe/Paris", "EUR", "fr"),
    "DE": ("Germany", "Europe/Berlin", "EUR", "de"),
    "GR": ("Greece", "Europe/Athens", "EUR", "el"),
    "HU": ("Hungary", "Europe/Budapest", "HUF", "hu"),
    "IE": ("Ireland", "Europe/Dublin", "EUR", "en"),
    "IT": ("Italy", "Europe/Rome", "EUR", "it"),
    "LV": ("Latvia", "Europe/Riga", "EUR", "lv"),
    "LT": ("Lithuania", "Europe/Vilnius", "EUR", "lt"),
    "LU": ("Luxembourg", "Europe/Luxembourg", "EUR", "fr"),
    "MT": ("Malta", "Europe/Malta", "EUR", "en"),
    "NL": ("Netherlands", "Europe/Amsterdam", "EUR", "nl"),
    "PT": ("Portugal", "Europe/Lisbon", "EUR", "pt"),
    "RO": ("Romania", "Europe/Bucharest", "RON", "ro"),
    "SI": ("Slovenia", "Europe/Ljubljana", "EUR", "sl"),
    "ES": ("Spain", "Europe/Madrid", "EUR", "es"),
    "SE": ("Sweden", "Europe/Stockholm", "SEK", "sv"),
}

PROFILES: dict[str, JurisdictionProfile] = {"PL": _PL, "EU": _EU, "CZ": _CZ, "SK": _SK}
for _code, (_name, _tz, _currency, _language) in _MEMBER_STATES.items():
    PROFILES[_code] = replace(
        _EU,
        code=_code,
        name=f"{_name} (EU default rules)",
        holiday_country=_code,
        default_timezone=_tz,
        default_currency=_currency,
        default_language=_language,
    )


def supported_jurisdictions() -> tuple[str, ...]:
    """Codes with a profile: PL, EU, CZ, SK first, then the other member states."""
    return tuple(PROFILES)


def get_profile(code: str | JurisdictionProfile) -> JurisdictionProfile:
    """The profile for ``code`` (case-insensitive); unknown codes are a clear error."""
    if isinstance(code, JurisdictionProfile):
        return code
    key = code.strip().upper() if isinstance(code, str) else ""
    try:
        return PROFILES[key]
    except KeyError:
        raise UnknownJurisdiction(
            f"unknown jurisdiction {code!r}: expected one of {', '.join(supported_jurisdictions())}"
        ) from None
