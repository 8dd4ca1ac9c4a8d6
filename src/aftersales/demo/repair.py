"""Scenario 4: a laptop repaired under the statutory liability, with a loaner meanwhile (Shopify, PL shop).

The customer files a complaint through the customer API (what the complaint form posts): the
laptop bought two months ago shows a flickering screen, and they ask for a repair. The merchant
accepts it with the repair through the merchant API, with the shop's API key (the consumer's
choice comes first, art. 43d u.p.k.). The answer is e-mailed; the
moment the SMTP server accepts it is the moment it reached the consumer, which stops the
14-day clock and starts the repair: a courier pick-up at the shop's cost and the declared
repair time (``complaints.repair_days.laptops`` in the policy) as durable timers. While the
laptop is away the merchant lends a replacement device (recorded by its serial); the repair
is finished in time, the customer hears of it, and the loaner comes back. The workshop's steps
(loaner, goods received, repair done) have no API operation yet; they are the workflow's
commands, as the merchant CLI and pages call them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from aftersales.demo.catalog import Buyer, Item
from aftersales.demo.orders import place_shopify_order
from aftersales.demo.scenario import Outcome, Scenario, case_data, case_path, emails_to, require, wait_case
from aftersales.demo.stage import SHOPIFY_SHOP, Stage
from aftersales.store.models import Loaner

BUYER = Buyer("Piotr", "Zieliński", "piotr.zielinski@example.pl", "pl")
LOANER = "WYP-PB14-007"


class RepairWithLoaner(Scenario):
    key = "repair"
    title = "Repair with a loaner"
    platform = "Shopify"
    workflow = "complaints"

    def __init__(self) -> None:
        self.order_id = ""
        self.case_number = ""

    def start(self, stage: Stage) -> None:
        now = stage.now()
        payload = place_shopify_order(
            stage,
            BUYER,
            [Item("Laptop ProBook 14 G11", Decimal("3999.00"), sku="PB14-G11", product_type="laptops")],
            paid_at=now - timedelta(days=63),
            dispatched_at=now - timedelta(days=62),
            delivered_at=now - timedelta(days=60),
        )
        self.order_id = str(payload["id"])
        opened = stage.api(
            "POST",
            f"/api/v1/shops/{SHOPIFY_SHOP}/complaints",
            {
                "email": BUYER.email,
                "order_number": str(payload["name"]),
                "lines": [{"line_item_id": str(payload["line_items"][0]["id"]), "quantity": 1}],
                "description": "Ekran miga i gaśnie po kilku minutach pracy, także na zasilaczu.",
                "remedy": "repair",
                "locale": BUYER.locale,
                "request_id": f"demo-repair-{self.order_id}",
            },
        )
        self.case_number = str(opened["case_number"])
        stage.api(
            "POST",
            f"/api/v1/shops/{SHOPIFY_SHOP}/cases/{self.case_number}/answer",
            {
                "decision": "accept",
                "remedy": "repair",
                "text": "Uznajemy reklamację. Laptop naprawimy; kurier odbierze go na nasz koszt.",
            },
            merchant_of=SHOPIFY_SHOP,
        )
        # the answer reaches the customer when the SMTP server takes it: then the repair starts
        wait_case(
            stage,
            SHOPIFY_SHOP,
            self.order_id,
            ["complaint"],
            ["in_repair"],
            f"complaint {self.case_number} did not go into repair after the answer was delivered",
        )
        stage.command("complaints.issue_loaner", SHOPIFY_SHOP, case_number=self.case_number, serial=LOANER)
        stage.command("complaints.item_received", SHOPIFY_SHOP, case_number=self.case_number)
        stage.command(
            "complaints.repair_done",
            SHOPIFY_SHOP,
            case_number=self.case_number,
            note="Wymieniono matrycę i taśmę sygnałową.",
        )
        stage.command("complaints.return_loaner", SHOPIFY_SHOP, case_number=self.case_number, serial=LOANER)

    def conclude(self, stage: Stage) -> Outcome:
        case = wait_case(
            stage,
            SHOPIFY_SHOP,
            self.order_id,
            ["complaint"],
            ["resolved"],
            f"the repair of complaint {self.case_number} was not resolved",
        )
        path = stage.read(lambda s: case_path(s, case.id))
        loaners = stage.read(lambda s: s.scalars(select(Loaner).where(Loaner.case_id == case.id)).all())
        require(loaners, f"no loaner was recorded on complaint {case.number}")
        lent = ", ".join(
            f"loaner {row.serial} lent{' and returned' if row.returned_at else ', still out'}"
            for row in loaners
        )
        repair = stage.read(lambda s: case_data(s, case)).get("repair")
        declared = ""
        if isinstance(repair, dict) and "days" in repair:
            # the policy lends loaners for the category "laptops"; the order's line must carry it
            offered = (
                "loaner offered by the policy" if repair.get("loaner_offered") else "no category on the line"
            )
            declared = f"declared repair time {repair['days']} days, {offered}; "
        return self.outcome(
            ok=True,
            case=case.number,
            happened=f"{' → '.join(path)} ({declared}{lent})",
            emails=emails_to(stage, BUYER.email),
        )
