"""The shop policy: one YAML file per shop, validated into an immutable :class:`Policy`.

Every section but ``shop`` is optional and defaults to *lawful, conservative* values: the
statutory minimum windows, the statutory maximum answer times, no automatic approvals, no
fees, no guarantee. A merchant opts into generosity; nothing is generous — or unlawful — by
accident. The legal floors themselves (a window below 14 days, a fee on a statutory
withdrawal, a complaint answered after the legal maximum) are checked after parsing by
:mod:`aftersales.policy.checks`, against the jurisdiction's profile in :mod:`aftersales.law`.

Key names follow DESIGN §6; they are a contract with merchants' files — add, never rename.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Discriminator, Field, Tag, model_validator
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode

from aftersales.calendar import BusinessCalendar
from aftersales.domain.money import Money
from aftersales.law.profiles import JurisdictionProfile, get_profile
from aftersales.policy.fields import (
    ClockTime,
    CurrencyCode,
    Days,
    Duration,
    EmailAddress,
    Hours,
    JurisdictionCode,
    LanguageTag,
    MoneyAmount,
    PolicySchemaGenerator,
    PolicySection,
    PositiveInt,
    TimezoneName,
)

__all__ = [
    "AutoApprove",
    "BusinessHours",
    "Caps",
    "ClosureRange",
    "Complaints",
    "Guarantee",
    "GuaranteeExclusions",
    "Notifications",
    "Payout",
    "PeakSeason",
    "Policy",
    "PromiseSettings",
    "QuietHours",
    "Restock",
    "RestockingFee",
    "Returns",
    "Shop",
    "Warranty",
    "Wave",
]

Remedy = Literal["repair", "replace", "price_reduction", "withdraw"]
STATUTORY_REMEDIES: tuple[Remedy, ...] = ("repair", "replace", "price_reduction", "withdraw")
"""Every remedy a consumer has for non-conforming goods (art. 43d-43e u.p.k.; Directive 2019/771 art. 13)."""

MAX_CLOSURE_RANGE_DAYS = 366


# -- shop ----------------------------------------------------------------------------------------------


class ClosureRange(PolicySection):
    """A span of local dates (both ends included) on which the shop does not work."""

    start: date = Field(alias="from")
    """First closed day."""
    end: date = Field(alias="to")
    """Last closed day (included)."""

    @model_validator(mode="after")
    def _ordered(self) -> ClosureRange:
        if self.end < self.start:
            raise ValueError(f"closure ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days >= MAX_CLOSURE_RANGE_DAYS:
            raise ValueError(f"a closure may span at most {MAX_CLOSURE_RANGE_DAYS} days")
        return self

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _closure_kind(value: Any) -> str:
    return "range" if isinstance(value, dict | ClosureRange) else "day"


Closure = Annotated[
    Annotated[date, Tag("day")] | Annotated[ClosureRange, Tag("range")],
    Discriminator(_closure_kind),
]


class Shop(PolicySection):
    """Who the shop is and where: the jurisdiction picks the law, the time zone picks the local date."""

    name: str = Field(min_length=1)
    """The shop's name as customers know it."""
    jurisdiction: JurisdictionCode
    """Law profile: PL, EU (default rules), CZ, SK, or another EU member state code."""
    currency: CurrencyCode
    """ISO 4217 currency of every amount in this file."""
    timezone: TimezoneName
    """IANA time zone; every legal date and cut-off is the shop's local date/time here."""
    closures: list[Closure] = Field(default_factory=list)
    """Local dates (or {from, to} ranges) the shop does not ship or work. Never moves a legal deadline."""
    language: LanguageTag | None = None
    """Language of customer messages; default: the jurisdiction's language (pl for PL)."""


# -- returns ------------------------------------------------------------------------------------------


class AutoApprove(PolicySection):
    """Returns approved without a person looking, when every condition holds."""

    max_value: MoneyAmount | None = None
    """Largest refund value approved automatically; none = no automatic approval of commercial returns."""
    reasons: list[str] = Field(default_factory=list)
    """Return reasons eligible for automatic approval (e.g. changed_mind, wrong_size)."""


FeeCaseType = Literal["commercial_return", "withdrawal"]


def _commercial_only() -> list[FeeCaseType]:
    return ["commercial_return"]


class RestockingFee(PolicySection):
    """A fee deducted from *commercial* returns (after the statutory window) — never from a withdrawal."""

    amount: MoneyAmount | None = None
    """Fixed fee per return."""
    percent: Decimal | None = Field(default=None, ge=0, le=100)
    """Fee as a percentage of the returned goods' value."""
    applies_to: list[FeeCaseType] = Field(default_factory=_commercial_only)
    """Case types charged. "withdrawal" is unlawful and rejected by the legal checks."""

    @model_validator(mode="after")
    def _one_basis(self) -> RestockingFee:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("a restocking fee needs exactly one of amount or percent")
        return self


class Returns(PolicySection):
    """Statutory withdrawals and the shop's own (commercial) returns."""

    window_days: Days = 14
    """Return window from delivery. Commercial; never below the statutory withdrawal window (14 days)."""
    refund_shipping: Literal["standard", "paid", "none"] = "standard"
    """On withdrawal of the whole order refund the cheapest standard delivery (law) or all that was paid."""
    return_shipping_paid_by: Literal["customer", "shop"] = "shop"
    """Who pays for sending goods back. "customer" only if the customer was told so before buying (art. 34 ust. 2 u.p.k.)."""
    auto_approve: AutoApprove = Field(default_factory=AutoApprove)
    """Automatic approval of commercial returns (statutory withdrawals need no approval)."""
    refund_trigger: Literal["on_approval", "on_dispatch_proof", "on_receipt", "on_inspection", "manual"] = (
        "on_dispatch_proof"
    )
    """When money moves. Withdrawals are refunded on proof of dispatch at the latest, whatever this says."""
    excluded_tags: list[str] = Field(default_factory=list)
    """Product tags excluded from commercial returns (statutory exceptions follow art. 38 u.p.k.)."""
    restocking_fee: RestockingFee | None = None
    """Fee on commercial returns only; none by default."""
    request_expiry_days: Days = 30
    """A return request the customer never completes closes after this many days."""
    goods_due_days: Days = 14
    """Days after a withdrawal statement the customer has to send the goods (at least 14: clamped)."""
    restock_on_receipt: bool = False
    """Put returned units back in stock on receipt (true) or only after inspection (false)."""
    customer_visible_notes: bool = False
    """Show merchant notes on a case to the customer (false: notes stay internal)."""

    def withdrawal_refund_trigger(self) -> str:
        """The trigger used for statutory withdrawals: the policy's, capped at proof of dispatch.

        The trader may withhold the refund only until the goods come back *or* proof of their
        dispatch arrives, whichever is first (art. 32 ust. 3 u.p.k.; Directive 2011/83/EU
        art. 13(3)); waiting for receipt or inspection is for commercial returns only.
        """
        if self.refund_trigger in ("on_approval", "on_dispatch_proof"):
            return self.refund_trigger
        return "on_dispatch_proof"


# -- complaints ---------------------------------------------------------------------------------------


class Warranty(PolicySection):
    """A commercial guarantee (gwarancja) the shop gives for a product category."""

    months: PositiveInt
    """Length of the guarantee."""
    terms: str | None = None
    """Where the terms are published (URL or text); without a stated repair term the law gives 14 days."""


class BusinessHours(PolicySection):
    """When the complaints desk answers (first-response clock runs only inside these hours)."""

    start: ClockTime = time(9, 0)
    """Opening time, local."""
    end: ClockTime = time(17, 0)
    """Closing time, local."""

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError("business hours must end after they start")
        return self


class Complaints(PolicySection):
    """Complaints about non-conforming goods (reklamacje)."""

    answer_within_days: PositiveInt = 14
    """Days to answer a complaint. Statutory maximum: 14 in PL/EU (deemed accepted after), 30 in CZ/SK."""
    remedies: list[Remedy] = Field(default_factory=lambda: list(STATUTORY_REMEDIES))
    """Remedies offered in the complaint form; the statutory ones are always kept."""
    loaner_for_categories: list[str] = Field(default_factory=list)
    """Product categories for which a replacement device is lent during repair."""
    reminder_days: list[Annotated[int, Field(strict=True, ge=1)]] = Field(default_factory=lambda: [10, 13])
    """Days after receipt on which staff are reminded of an unanswered complaint (before the deadline)."""
    repair_days: dict[str, Annotated[int, Field(strict=True, ge=1)]] = Field(
        default_factory=lambda: {"default": 14}
    )
    """Target repair time per product category; "default" for the rest."""
    warranty: dict[str, Warranty] = Field(default_factory=dict)
    """Commercial guarantee per product category."""
    first_response_hours: Hours = 24
    """Business hours within which a new complaint gets its first (human) response."""
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    """Opening hours of the complaints desk."""

    @model_validator(mode="after")
    def _default_repair(self) -> Complaints:
        if "default" not in self.repair_days:
            object.__setattr__(self, "repair_days", {**self.repair_days, "default": 14})
        return self

    def repair_days_for(self, category: str | None) -> int:
        return self.repair_days.get(category or "default", self.repair_days["default"])


# -- guarantee -----------------------------------------------------------------------------------------


class PeakSeason(PolicySection):
    """Extra handling days for orders whose dispatch clock starts within a date span (e.g. Black Friday)."""

    start: date = Field(alias="from")
    """First day (local) of the span."""
    end: date = Field(alias="to")
    """Last day (included)."""
    extra_handling_days: Days
    """Business days added to handling_business_days."""

    @model_validator(mode="after")
    def _ordered(self) -> PeakSeason:
        if self.end < self.start:
            raise ValueError(f"peak season ends ({self.end}) before it starts ({self.start})")
        return self


class PromiseSettings(PolicySection):
    """How the dispatch promise is computed (DESIGN §8)."""

    cutoff: ClockTime = time(12, 0)
    """Local time of day: paid before it on a business day = that day counts as day 0."""
    handling_business_days: Days = 1
    """Business days after day 0 by which the order is handed to the carrier."""
    calendar: JurisdictionCode | None = None
    """Whose public holidays count; default: the shop's jurisdiction."""
    payment_window_minutes: PositiveInt | None = None
    """The promise binds only if payment follows the order within this many minutes."""
    peak: list[PeakSeason] = Field(default_factory=list)
    """Peak-season overrides."""


class Payout(PolicySection):
    """What a customer gets when the promise is broken."""

    amount: MoneyAmount | None = None
    """Fixed payout (kind: fixed)."""
    method: Literal["refund", "voucher"] = "refund"
    """Refund to the original payment, or a voucher."""
    kind: Literal["fixed", "shipping_fee"] = "fixed"
    """A fixed amount, or the shipping fee the customer paid."""


class GuaranteeExclusions(PolicySection):
    """Orders never covered by the guarantee."""

    channels: list[str] = Field(default_factory=list)
    """Sales channels (e.g. marketplace)."""
    payment_methods: list[str] = Field(default_factory=list)
    """Payment methods (e.g. instalments, cash_on_delivery)."""
    tags: list[str] = Field(default_factory=list)
    """Order or product tags (e.g. preorder)."""


class Caps(PolicySection):
    """Upper limits on payouts; none = only the one-payout-per-order rule."""

    per_order: MoneyAmount | None = None
    """Largest payout on one order."""
    per_customer_per_month: MoneyAmount | None = None
    """Largest total for one customer in a calendar month."""
    per_month: MoneyAmount | None = None
    """Largest total for the shop in a calendar month."""


class Guarantee(PolicySection):
    """The shipping guarantee ("dispatched on time or 50 zł back"); off unless enabled."""

    enabled: bool = False
    """Turn the guarantee on."""
    promise: PromiseSettings = Field(default_factory=PromiseSettings)
    """Cut-off, handling days, calendar, payment window."""
    measured_on: Literal["dispatch", "delivery"] = "dispatch"
    """The event that keeps the promise: hand-over to the carrier, or the first delivery attempt."""
    payout: Payout = Field(default_factory=Payout)
    """What a late order earns."""
    exclude: GuaranteeExclusions = Field(default_factory=GuaranteeExclusions)
    """Orders outside the guarantee."""
    caps: Caps = Field(default_factory=Caps)
    """Payout limits."""
    force_majeure_days: list[date] = Field(default_factory=list)
    """Days the merchant declares force majeure (carrier strike, flood): lateness then pays nothing."""
    transit_days: dict[str, Days] = Field(default_factory=dict)
    """Carrier business days from dispatch to delivery, per shipping zone (for a delivery promise)."""


# -- restock -----------------------------------------------------------------------------------------------


class Wave(PolicySection):
    """Back-in-stock notifications go out in waves so a few units are not promised to thousands."""

    per_unit: PositiveInt = 3
    """Subscribers notified per unit back in stock, per wave."""
    interval: Duration = timedelta(hours=1)
    """Time between waves ("1h", "30m")."""
    recheck_stock: bool = True
    """Re-read stock from the platform before each wave."""


class QuietHours(PolicySection):
    """Local hours in which no back-in-stock message is sent (may wrap midnight)."""

    start: ClockTime = time(21, 0)
    """Start of the quiet period."""
    end: ClockTime = time(8, 0)
    """End of the quiet period."""

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Restock(PolicySection):
    """Back-in-stock subscriptions."""

    double_opt_in: bool = True
    """Confirm a subscription by e-mail before sending anything (GDPR consent proof)."""
    wave: Wave = Field(default_factory=Wave)
    """Wave size and pace."""
    expire_after_days: Days = 90
    """A confirmed subscription lapses after this many days."""
    unconfirmed_expire_hours: PositiveInt = 48
    """An unconfirmed subscription is deleted after this many hours."""
    min_stock: PositiveInt = 1
    """Units in stock needed to start notifying."""
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    """No messages in these local hours; null = send at any hour."""
    attribution_days: Days = 7
    """An order within this many days of a notification counts as recovered revenue."""


# -- notifications ---------------------------------------------------------------------------------------


class Notifications(PolicySection):
    """E-mail addresses used for customer and merchant messages."""

    from_address: EmailAddress | None = None
    """Sender of customer messages, e.g. "Sklep <sklep@example.pl>"."""
    merchant_address: EmailAddress | None = None
    """Where escalations and daily digests go."""
    reply_to: EmailAddress | None = None
    """Reply-To of customer messages (a durable channel for the customer's answers)."""


# -- the policy -------------------------------------------------------------------------------------------


class Policy(PolicySection):
    """A shop's after-sales policy. Only ``shop`` is required; the rest defaults to the lawful minimum."""

    shop: Shop
    """The shop's identity, jurisdiction, currency and time zone."""
    returns: Returns = Field(default_factory=Returns)
    """Withdrawals and commercial returns."""
    complaints: Complaints = Field(default_factory=Complaints)
    """Complaints about non-conforming goods."""
    guarantee: Guarantee = Field(default_factory=Guarantee)
    """Shipping guarantee."""
    restock: Restock = Field(default_factory=Restock)
    """Back-in-stock alerts."""
    notifications: Notifications = Field(default_factory=Notifications)
    """E-mail addresses."""

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = PolicySchemaGenerator,
        mode: JsonSchemaMode = "validation",
        *,
        union_format: Literal["any_of", "primitive_type_array"] = "any_of",
    ) -> dict[str, Any]:
        """The JSON Schema, with defaults written the way the YAML file writes them."""
        return super().model_json_schema(
            by_alias, ref_template, schema_generator, mode, union_format=union_format
        )

    # -- derived views used by workflows -------------------------------------------------------------
    @property
    def profile(self) -> JurisdictionProfile:
        """The law profile of the shop's jurisdiction."""
        return get_profile(self.shop.jurisdiction)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.shop.timezone)

    @property
    def language(self) -> str:
        return self.shop.language or self.profile.default_language

    def closure_dates(self) -> frozenset[date]:
        """Every closed local date, ranges expanded."""
        days: set[date] = set()
        for item in self.shop.closures:
            if isinstance(item, ClosureRange):
                days.update(item.days())
            else:
                days.add(item)
        return frozenset(days)

    def shop_calendar(self) -> BusinessCalendar:
        """Business days for shipping: the promise calendar's holidays plus the shop's closures."""
        jurisdiction = self.guarantee.promise.calendar or self.shop.jurisdiction
        return BusinessCalendar(get_profile(jurisdiction).holiday_country, self.zone, self.closure_dates())

    def legal_calendar(self) -> BusinessCalendar:
        """Working days for statutory deadlines: weekends and public holidays only, never closures."""
        return BusinessCalendar(self.profile.holiday_country, self.zone)

    def money(self, amount: Decimal | str | int) -> Money:
        """An amount of this policy as :class:`Money` in the shop's currency."""
        return Money(amount, self.shop.currency)
