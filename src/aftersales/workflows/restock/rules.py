"""The back-in-stock settings one shop runs with, resolved once from its policy.

The workflow reads plain values from :class:`RestockRules` instead of walking the policy
tree in every step, so the wave, subscription and attribution code can be exercised with
any settings a test needs, and the policy schema can grow without touching them.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from aftersales.policy.schema import Policy

DEFAULT_SUBSCRIBE_LIMIT_PER_IP_HOUR = 20
"""A person subscribes to a handful of products; twenty an hour from one address is a flood."""


@dataclass(frozen=True)
class QuietHours:
    """A daily window (shop time) in which no alert wave starts, e.g. 21:00-08:00.

    Alerts that arrive at night are read in the morning, by which time a small restock has
    sold out to the customers who happened to be awake; waiting for the morning is fairer.
    ``start > end`` means the window spans midnight.
    """

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """``moment`` itself when outside the window, else the window's end (same zone as ``moment``)."""
        local = moment.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return moment
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end.astimezone(moment.tzinfo)

    @classmethod
    def parse(cls, value: Any) -> QuietHours | None:
        """Accept ``"21:00-08:00"``, ``{"start": "21:00", "end": "08:00"}`` or the policy's section."""
        if value is None or value == "" or value is False:
            return None
        if isinstance(value, QuietHours):
            return value
        if isinstance(value, str):
            start_s, sep, end_s = value.partition("-")
            if not sep:
                raise ValueError(f"quiet hours must look like '21:00-08:00', got {value!r}")
            return cls(_time(start_s), _time(end_s))
        if isinstance(value, dict):
            return cls(_time(value["start"]), _time(value["end"]))
        return cls(_time(value.start), _time(value.end))


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    return time.fromisoformat(str(value).strip())


@dataclass(frozen=True)
class RestockRules:
    """Back-in-stock settings for one shop (policy ``restock`` section plus service settings)."""

    double_opt_in: bool = True
    per_unit: int = 3
    """Subscribers told per available unit in one wave (backinstock.org's notification rate)."""
    interval: timedelta = timedelta(hours=1)
    """Time between waves, so the first wave's buyers show up in the stock before the next."""
    recheck_stock: bool = True
    expire_after_days: int = 90
    unconfirmed_expire_hours: int = 48
    min_stock: int = 1
    """A restock smaller than this is not announced (three alerts for one unit disappoint two)."""
    quiet_hours: QuietHours | None = None
    attribution_days: int = 7
    timezone: str = "UTC"
    subscribe_limit_per_ip_hour: int = DEFAULT_SUBSCRIBE_LIMIT_PER_IP_HOUR
    confirm_resend_after: timedelta = timedelta(minutes=15)
    """A duplicate pending subscription re-sends the confirmation at most this often (no mail bombing)."""
    public_url: str = "http://127.0.0.1:8000"
    """Base of the links in e-mails (confirm page, tracked link, unsubscribe)."""
    product_url_template: str | None = None
    """Where a tracked link leads, e.g. ``https://shop.example/?post_type=product&p={product_id}``;
    ``{variant_id}`` works too. Set by the operator, never taken from a visitor (an alert link
    that a form could point anywhere would make every alert a phishing vehicle)."""
    shop_url: str | None = None
    """The storefront, where a tracked link leads when no product URL template is set."""
    shop_name: str = ""

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        public_url: str | None = None,
        product_url_template: str | None = None,
        shop_url: str | None = None,
        subscribe_limit_per_ip_hour: int = DEFAULT_SUBSCRIBE_LIMIT_PER_IP_HOUR,
    ) -> RestockRules:
        """The shop's ``restock`` section plus the service settings the policy does not hold."""
        section = policy.restock
        return cls(
            double_opt_in=section.double_opt_in,
            per_unit=section.wave.per_unit,
            interval=section.wave.interval,
            recheck_stock=section.wave.recheck_stock,
            expire_after_days=section.expire_after_days,
            unconfirmed_expire_hours=section.unconfirmed_expire_hours,
            min_stock=section.min_stock,
            quiet_hours=QuietHours.parse(section.quiet_hours),
            attribution_days=section.attribution_days,
            timezone=policy.shop.timezone,
            subscribe_limit_per_ip_hour=subscribe_limit_per_ip_hour,
            public_url=(public_url or cls.public_url).rstrip("/"),
            product_url_template=product_url_template,
            shop_url=shop_url,
            shop_name=policy.shop.name,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def threshold(self) -> int:
        """Units needed for a restock to count (at least one)."""
        return max(1, self.min_stock)

    def wave_start(self, moment: datetime) -> datetime:
        """The earliest moment at or after ``moment`` that is outside the quiet hours."""
        if self.quiet_hours is None:
            return moment
        return self.quiet_hours.next_allowed(moment, self.zone)

    def product_url(self, product_id: str | None, variant_id: str) -> str | None:
        if not self.product_url_template:
            return self.shop_url
        return self.product_url_template.format(product_id=product_id or variant_id, variant_id=variant_id)


ACTIVE_RULES: ContextVar[RestockRules | None] = ContextVar("aftersales_restock_rules", default=None)
"""The rules of the wave being sized, set around the ``aftersales_restock_wave`` call.

The hook's signature (variant, available, queue) carries no policy; the built-in plugin
reads ``per_unit`` from here, a third-party plugin may too.
"""
