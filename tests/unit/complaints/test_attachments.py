"""Evidence files: only photos and PDFs, within limits, stored once outside the rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from aftersales.store.models import Attachment, Base, CaseRow
from aftersales.workflows.complaints.attachments import (
    MAX_BYTES,
    MAX_FILES,
    AttachmentRejected,
    Upload,
    attachments_root,
    check_uploads,
    original_message,
    partition_uploads,
    safe_filename,
    sniff,
    store_attachments,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100
PDF = b"%PDF-1.7\n" + b"\x02" * 100
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x03" * 40
HEIC = b"\x00\x00\x00\x18ftypheic" + b"\x04" * 40


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (b"MZ\x90\x00", None),
        (b"<html>", None),
    ],
)
def test_the_type_is_read_from_the_bytes(content: bytes, kind: str | None) -> None:
    assert sniff(content) == kind


def test_a_renamed_executable_is_refused_whatever_it_claims() -> None:
    with pytest.raises(AttachmentRejected, match=r"evil\.jpg: not a photo or PDF \(sent as image/jpeg\)"):
        check_uploads([Upload("evil.jpg", b"MZ\x90\x00" * 10, "image/jpeg")])


def test_too_large_and_too_many_and_empty() -> None:
    with pytest.raises(AttachmentRejected, match="over the limit of 10 MiB"):
        check_uploads([Upload("big.jpg", JPEG + b"\x00" * MAX_BYTES)])
    with pytest.raises(AttachmentRejected, match=f"at most {MAX_FILES}"):
        check_uploads([Upload(f"{i}.png", PNG) for i in range(MAX_FILES + 1)])
    with pytest.raises(AttachmentRejected, match="empty"):
        check_uploads([Upload("nothing.png", b"")])


def test_an_email_keeps_what_it_can_and_says_why_for_the_rest() -> None:
    kept, refused = partition_uploads(
        [
            Upload("a.png", PNG),
            Upload("virus.exe", b"MZ"),
            *[Upload(f"{i}.jpg", JPEG + bytes([i])) for i in range(5)],
        ]
    )
    assert [k.filename for k in kept] == ["a.png", "0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert [r["filename"] for r in refused] == ["virus.exe", "4.jpg"]
    assert "not a photo or PDF" in refused[0]["reason"]
    assert "original message" in refused[1]["reason"]


def test_file_names_never_become_paths() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\a\\zdjęcie 1.jpg") == "zdjęcie 1.jpg"
    assert safe_filename("") == "attachment"


def test_the_root_comes_from_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AFTERSALES_DATA_DIR", str(tmp_path))
    assert attachments_root() == tmp_path / "attachments"
    monkeypatch.delenv("AFTERSALES_DATA_DIR")
    assert attachments_root() == Path("var/attachments")


def test_files_are_written_outside_the_rows_once_per_case(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    now = datetime(2026, 5, 4, tzinfo=UTC)
    with Session(engine) as session:
        session.add(
            CaseRow(
                id="c1",
                shop_id="s1",
                number="C-2026-000001",
                type="complaint",
                status="received",
                data={},
                opened_at=now,
                updated_at=now,
            )
        )
        session.flush()
        files = check_uploads([Upload("photo.png", PNG), Upload("invoice.pdf", PDF)])
        rows = store_attachments(session, shop_id="s1", case_id="c1", files=files, now=now, root=tmp_path)
        again = store_attachments(session, shop_id="s1", case_id="c1", files=files, now=now, root=tmp_path)
        raw = store_attachments(
            session,
            shop_id="s1",
            case_id="c1",
            files=[original_message(b"From: a@b\r\n\r\nhi")],
            now=now,
            root=tmp_path,
            original=True,
        )
        session.commit()
        stored = list(session.scalars(select(Attachment).order_by(Attachment.filename)))
    assert len(rows) == 2 and again == [] and len(raw) == 1
    assert [(a.filename, a.content_type) for a in stored] == [
        ("invoice.pdf", "application/pdf"),
        ("message.eml", "message/rfc822"),
        ("photo.png", "image/png"),
    ]
    for row in stored:
        path = tmp_path / row.path
        assert path.is_file() and path.stat().st_size == row.size
        assert row.path.startswith("s1/c1/") and row.sha256 in row.path
    assert (tmp_path / stored[2].path).read_bytes() == PNG
