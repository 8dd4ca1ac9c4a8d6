"""Evidence attached to a complaint: photos and PDFs, checked, stored on disk, recorded in a row.

Why the bytes live outside the database rows: a photo is megabytes, a complaint may have
several, and the case tables are read on every step; the row keeps the file's name, type,
size, SHA-256 and path, the disk (or a mounted object store) keeps the bytes. Files are
content-addressed under ``<root>/<shop>/<case>/<sha256>.<ext>`` and written atomically (a
temporary file renamed into place), so a step that is retried after a crash rewrites the same
file and a double-clicked upload is recorded once.

The root is ``$AFTERSALES_DATA_DIR/attachments``, else ``./var/attachments``.

Limits (a clear answer instead of a silent loss): at most :data:`MAX_FILES` files of at most
:data:`MAX_BYTES` each; only images (JPEG, PNG, GIF, WebP, HEIC) and PDF. The type is read
from the file's first bytes, never trusted from the browser's or mail client's label: a
``.jpg`` that is an executable is refused. Hand-written signature checks because the five
formats have fixed magic numbers and the alternatives (``python-magic``) need a system
library the embedded install should not depend on.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.store.models import Attachment

__all__ = [
    "ALLOWED_TYPES",
    "MAX_BYTES",
    "MAX_FILES",
    "AttachmentRejected",
    "Upload",
    "attachments_root",
    "check_uploads",
    "partition_uploads",
    "sniff",
    "store_attachments",
]

MAX_BYTES = 10 * 1024 * 1024
"""10 MiB per file: a phone photo fits, a video does not."""
MAX_FILES = 5
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
}
"""Types accepted as evidence, with the extension the stored file gets."""
DATA_DIR_ENV = "AFTERSALES_DATA_DIR"
DEFAULT_ROOT = Path("var") / "attachments"
ORIGINAL_MESSAGE_TYPE = "message/rfc822"
"""The raw e-mail a complaint arrived in is kept too (the durable record of what was received)."""


class AttachmentRejected(ValueError):
    """An upload the form must refuse; the message says which file and why."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes
    declared_type: str | None = None


@dataclass(frozen=True)
class Checked:
    filename: str
    content: bytes
    content_type: str
    sha256: str


def sniff(content: bytes) -> str | None:
    """The MIME type from the file's first bytes, for the accepted formats only."""
    head = content[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_filename(name: str | None) -> str:
    """A display name without paths or control characters (it is never used as a path)."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return (cleaned or "attachment")[:200]


def _check(upload: Upload) -> Checked:
    name = safe_filename(upload.filename)
    size = len(upload.content)
    if size == 0:
        raise AttachmentRejected(f"{name}: the file is empty")
    if size > MAX_BYTES:
        raise AttachmentRejected(
            f"{name}: {size / 1048576:.1f} MiB is over the limit of {MAX_BYTES // 1048576} MiB per file"
        )
    kind = sniff(upload.content)
    if kind is None:
        declared = f" (sent as {upload.declared_type})" if upload.declared_type else ""
        raise AttachmentRejected(
            f"{name}: not a photo or PDF{declared}; accepted are JPEG, PNG, GIF, WebP, HEIC and PDF"
        )
    return Checked(name, upload.content, kind, hashlib.sha256(upload.content).hexdigest())


def check_uploads(uploads: Sequence[Upload]) -> list[Checked]:
    """All or nothing, for a form: the customer fixes the refused file and sends again."""
    if len(uploads) > MAX_FILES:
        raise AttachmentRejected(f"{len(uploads)} files attached; at most {MAX_FILES} are accepted")
    return [_check(u) for u in uploads]


def partition_uploads(uploads: Sequence[Upload]) -> tuple[list[Checked], list[dict[str, str]]]:
    """For an e-mail (which cannot be sent back): keep what is acceptable, list what is not and why.

    Files beyond :data:`MAX_FILES` are refused too; the raw message is kept anyway, so nothing
    the customer sent is lost — a person can still open it.
    """
    accepted: list[Checked] = []
    refused: list[dict[str, str]] = []
    for upload in uploads:
        try:
            checked = _check(upload)
        except AttachmentRejected as exc:
            refused.append({"filename": safe_filename(upload.filename), "reason": str(exc)})
            continue
        if len(accepted) >= MAX_FILES:
            refused.append(
                {
                    "filename": checked.filename,
                    "reason": f"more than {MAX_FILES} files; kept in the original message",
                }
            )
            continue
        accepted.append(checked)
    return accepted, refused


def attachments_root() -> Path:
    base = os.environ.get(DATA_DIR_ENV)
    return (Path(base) / "attachments") if base else DEFAULT_ROOT


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.stat().st_size == len(content):
        return  # content-addressed: same name, same bytes
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_attachments(
    session: Session,
    *,
    shop_id: str,
    case_id: str,
    files: Iterable[Checked],
    now: datetime,
    root: Path | None = None,
    original: bool = False,
) -> list[Attachment]:
    """Write the files and add their rows; a file already on the case (same SHA-256) is skipped."""
    base = root or attachments_root()
    known = set(
        session.scalars(
            select(Attachment.sha256).where(Attachment.shop_id == shop_id, Attachment.case_id == case_id)
        )
    )
    rows: list[Attachment] = []
    for item in files:
        if item.sha256 in known:
            continue
        ext = "eml" if original else ALLOWED_TYPES.get(item.content_type, "bin")
        relative = Path(_safe_segment(shop_id)) / _safe_segment(case_id) / f"{item.sha256}.{ext}"
        _write_atomically(base / relative, item.content)
        row = Attachment(
            id=uuid.uuid4().hex,
            shop_id=shop_id,
            case_id=case_id,
            filename=item.filename,
            content_type=item.content_type,
            size=len(item.content),
            sha256=item.sha256,
            path=relative.as_posix(),
            created_at=now,
        )
        session.add(row)
        rows.append(row)
        known.add(item.sha256)
    return rows


def original_message(raw: bytes, name: str = "message.eml") -> Checked:
    """The raw e-mail as a stored record (not evidence a customer uploaded; no type check)."""
    return Checked(name, raw, ORIGINAL_MESSAGE_TYPE, hashlib.sha256(raw).hexdigest())


def _safe_segment(value: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", value).strip(".")
    return cleaned or "_"
