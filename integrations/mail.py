"""Reading mailboxes: a Maildir folder (stdlib `mailbox`) or an IMAP folder (stdlib
`imaplib`, read-only, BODY.PEEK so nothing is marked seen). Each message is handed over
as a spooled file with its size, SHA-256 and header block; the caller decides."""

from __future__ import annotations

import hashlib
import imaplib
import mailbox as stdlib_mailbox
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

CHUNK = 1024 * 1024
HEAD_MAX = 64 * 1024
IMAP_TIMEOUT = 30


class MailboxUnavailable(Exception):
    """The mailbox could not be opened or read (path missing, login refused, network)."""


@dataclass
class Fetched:
    source_key: str
    size: int
    sha256: str
    head: bytes  # the header block (at most 64 KB)
    body: IO[bytes] | None  # the whole message, rewound; None when only the headers were read
    complete: bool = True


def _head(data: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = data.find(sep)
        if end != -1:
            return data[: end + len(sep)]
    return data[:HEAD_MAX]


def spool(stream: IO[bytes], source_key: str) -> Fetched:
    """Copy a message into a temporary file while hashing it: a 50 MB message is never
    held in memory whole."""
    digest = hashlib.sha256()
    out = tempfile.SpooledTemporaryFile(max_size=4 * CHUNK)  # noqa: SIM115 - handed to the caller, closed there
    size = 0
    first = b""
    while chunk := stream.read(CHUNK):
        if len(first) < HEAD_MAX:
            first += chunk[: HEAD_MAX - len(first)]
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
    out.seek(0)
    return Fetched(source_key=source_key, size=size, sha256=digest.hexdigest(), head=_head(first), body=out)


def maildir_keys(path: str) -> list[str]:
    if not os.path.isdir(path):
        raise MailboxUnavailable(f"No Maildir at {path}.")
    box = stdlib_mailbox.Maildir(path, factory=None, create=False)
    return sorted(box.keys())


def maildir_fetch(path: str, keys: Iterable[str]) -> Iterator[Fetched]:
    box = stdlib_mailbox.Maildir(path, factory=None, create=False)
    for key in keys:
        try:
            handle = box.get_file(key)
        except (KeyError, OSError):
            continue  # moved or removed since the listing
        try:
            yield spool(handle, key)
        finally:
            handle.close()


_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapReader:
    """A read-only session on one IMAP folder."""

    def __init__(self, *, host: str, port: int, use_ssl: bool, username: str, password: str, folder: str):
        try:
            cls = imaplib.IMAP4_SSL if use_ssl else imaplib.IMAP4
            self.conn = cls(host, port, timeout=IMAP_TIMEOUT)
            self.conn.login(username, password)
            typ, data = self.conn.select(_quote(folder), readonly=True)
            if typ != "OK":
                raise MailboxUnavailable(f"Cannot open folder {folder!r}: {data!r}")
            typ, data = self.conn.response("UIDVALIDITY")
            self.uidvalidity = (data[0] or b"0").decode() if data and data[0] else "0"
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxUnavailable(f"IMAP {host}:{port}: {exc}") from exc

    def keys(self) -> list[str]:
        typ, data = self.conn.uid("SEARCH", None, "ALL")
        if typ != "OK":
            raise MailboxUnavailable(f"UID SEARCH failed: {data!r}")
        return [f"{self.uidvalidity}/{uid.decode()}" for uid in (data[0] or b"").split()]

    def fetch(self, keys: Iterable[str], *, max_bytes: int) -> Iterator[Fetched]:
        for key in keys:
            uid = key.rsplit("/", 1)[-1]
            typ, data = self.conn.uid("FETCH", uid, "(RFC822.SIZE)")
            match = _SIZE_RE.search(b" ".join(p if isinstance(p, bytes) else p[0] for p in data if p)) if typ == "OK" else None
            if match is None:
                continue
            size = int(match.group(1))
            if size > max_bytes:
                # Too big to take in: the headers are enough to list it in quarantine; the
                # message stays on the server.
                typ, data = self.conn.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
                head = _literal(data) if typ == "OK" else b""
                yield Fetched(source_key=key, size=size, sha256="", head=head, body=None, complete=False)
                continue
            typ, data = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = _literal(data) if typ == "OK" else b""
            if not raw:
                continue
            out = tempfile.SpooledTemporaryFile(max_size=4 * CHUNK)  # noqa: SIM115 - closed by the caller
            out.write(raw)
            out.seek(0)
            yield Fetched(source_key=key, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), head=_head(raw), body=out)

    def close(self) -> None:
        try:
            self.conn.close()
            self.conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _literal(data: list) -> bytes:
    for part in data:
        if isinstance(part, tuple) and len(part) >= 2 and isinstance(part[1], bytes):
            return part[1]
    return b""


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
