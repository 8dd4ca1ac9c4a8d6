"""The public URLs in back-in-stock e-mails; the web layer mounts these paths.

======================================  ============================================================
``GET  /restock/confirm/{token}``       page with a "Confirm" button (never confirms by itself)
``POST /restock/confirm/{token}``       :func:`~aftersales.workflows.restock.subscriptions.confirm`
``GET  /restock/unsubscribe/{token}``   page with an "Unsubscribe" button
``POST /restock/unsubscribe/{token}``   :func:`~aftersales.workflows.restock.subscriptions.unsubscribe`
                                        (also the RFC 8058 one-click POST from mail clients)
``GET  /restock/go/{token}``            :func:`~aftersales.workflows.restock.attribution.record_click`,
                                        then a redirect to the product
======================================  ============================================================
"""

from __future__ import annotations

from aftersales.workflows.restock.rules import RestockRules

CONFIRM_PATH = "/restock/confirm/{token}"
UNSUBSCRIBE_PATH = "/restock/unsubscribe/{token}"
CLICK_PATH = "/restock/go/{token}"


def confirm_url(rules: RestockRules, token: str) -> str:
    return rules.public_url.rstrip("/") + CONFIRM_PATH.format(token=token)


def unsubscribe_url(rules: RestockRules, token: str) -> str:
    return rules.public_url.rstrip("/") + UNSUBSCRIBE_PATH.format(token=token)


def click_url(rules: RestockRules, token: str) -> str:
    return rules.public_url.rstrip("/") + CLICK_PATH.format(token=token)


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 ``List-Unsubscribe`` with the RFC 8058 one-click marker.

    Gmail and Yahoo require both on bulk mail since 2024; the mail client POSTs
    ``List-Unsubscribe=One-Click`` to the URL, with no page and no login in between.
    """
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
