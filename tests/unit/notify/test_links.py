"""Signed status-page links in messages: the key is generated once and kept, and a link that
was edited (another case number, another shop) is refused."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from aftersales.web.links import InvalidLink, read_status_token, secret_key, status_token, status_url


@pytest.fixture
def key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "secret"
    monkeypatch.delenv("AFTERSALES_SECRET_KEY", raising=False)
    monkeypatch.setenv("AFTERSALES_SECRET_KEY_FILE", str(path))
    return path


def test_a_key_is_generated_on_first_start_kept_private_and_reused(key_file: Path) -> None:
    first = secret_key()
    assert key_file.exists() and len(first) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key() == first


def test_the_environment_key_wins(key_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "from-the-environment")
    assert secret_key() == "from-the-environment"
    assert not key_file.exists()


def test_a_link_names_its_case_and_an_edited_one_is_refused(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_PUBLIC_URL", "https://zwroty.example.pl/")
    case = SimpleNamespace(id="case-17", shop_id="shop-a")
    url = status_url(case)
    assert url.startswith("https://zwroty.example.pl/status/")
    token = url.rsplit("/", 1)[1]
    assert read_status_token(token) == ("shop-a", "case-17")

    other = status_token(SimpleNamespace(id="case-18", shop_id="shop-a"))
    forged = other.split(".")[0] + "." + token.split(".")[1]
    for bad in (forged, token[:-2], "not-a-token", ""):
        with pytest.raises(InvalidLink):
            read_status_token(bad)


def test_a_link_signed_with_another_servers_key_is_refused(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "server-one")
    token = status_token(SimpleNamespace(id="case-1", shop_id="shop-a"))
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "server-two")
    with pytest.raises(InvalidLink):
        read_status_token(token)
