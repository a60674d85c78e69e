"""A small EVTX writer: demo event logs for the notebooks, and test logs of known content.

Windows writes each record as binary XML: a template (the XML with numbered holes) and the
typed values that fill the holes. This writer does the same, simply: every record carries its
own template inline (Windows shares templates within a chunk; readers accept either), values
are typed (UInt16 event ids, FILETIME times, HexInt64 keywords ...) so a parser renders them
as Windows' own records render, and records are packed into 64 KiB chunks with their
checksums. Only what :func:`hecnb.read_evtx` and the ``evtx`` parser need is written; it is
not a general-purpose EVTX library.

:func:`demo_evtx` writes a Security log with a story a threat hunter recognises (a password
spray, a successful logon, an encoded PowerShell, an account made, the log cleared), and can
damage chunks of it to show how damage is reported.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import struct
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError

__all__ = ["Typed", "demo_evtx", "write_evtx"]

FILE_HEADER = 4096
CHUNK = 65536
_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)  # FILETIME counts 100 ns from here
_TYPES = {"str": 0x01, "u8": 0x04, "u16": 0x06, "i32": 0x07, "u32": 0x08, "u64": 0x0A,
          "bin": 0x0E, "guid": 0x0F, "filetime": 0x11, "sid": 0x13, "hex32": 0x14,
          "hex64": 0x15}


@dataclass(frozen=True)
class Typed:
    """A value written as Windows types it: ``Typed("u16", 4624)``, ``Typed("filetime",
    datetime)``, ``Typed("hex64", 0x8020000000000000)``, ``Typed("bin", b"...")`` ..."""

    kind: str
    value: Any

    def encode(self) -> bytes:
        k, x = self.kind, self.value
        if k == "str":
            return str(x).encode("utf-16-le")
        if k in ("u8", "u16", "i32", "u32", "hex32", "u64", "hex64"):
            return struct.pack({"u8": "<B", "u16": "<H", "i32": "<i", "u32": "<I",
                                "hex32": "<I", "u64": "<Q", "hex64": "<Q"}[k], x)
        if k == "bin":
            return bytes(x)
        if k == "guid":
            return uuid.UUID(str(x)).bytes_le
        if k == "filetime":
            return struct.pack("<Q", filetime(x))
        if k == "sid":
            return _sid(str(x))
        raise ConfigError(f"unknown value kind {k!r}; known: {', '.join(_TYPES)}")


#: An element: ``(name, [(attribute, value), ...], [child element or value, ...])``.
Element = tuple[str, Sequence[tuple[str, Any]], Sequence[Any]]
Value = str | Typed


def filetime(when: dt.datetime) -> int:
    """A UTC datetime as a Windows FILETIME (100-ns steps since 1601)."""
    d = when.astimezone(dt.timezone.utc) - _EPOCH
    return (d.days * 86400 + d.seconds) * 10**7 + d.microseconds * 10


def _sid(text: str) -> bytes:
    parts = text.split("-")  # S-1-5-21-...
    authority, subs = int(parts[2]), [int(p) for p in parts[3:]]
    return (struct.pack("<BB", int(parts[1]), len(subs)) + authority.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def _counted(text: str) -> bytes:
    return struct.pack("<H", len(text)) + text.encode("utf-16-le")


class _Template:
    """The binary XML of one template: elements, static text and numbered substitutions."""

    def __init__(self, base: int) -> None:
        self.base = base  # the chunk offset the output starts at (names point into the chunk)
        self.out = bytearray(b"\x0f\x01\x01\x00")  # fragment header, BinXML 1.1
        self.values: list[Typed] = []

    def _name(self, name: str) -> None:
        here = self.base + len(self.out) + 4  # the name follows its own offset: inline
        self.out += struct.pack("<IIH", here, 0, 0) + _counted(name) + b"\x00\x00"

    def _value(self, value: Value) -> None:
        if isinstance(value, Typed):
            self.out += struct.pack("<BHB", 0x0D, len(self.values), _TYPES[value.kind])
            self.values.append(value)
        else:
            self.out += b"\x05\x01" + _counted(str(value))

    def element(self, element: Element) -> None:
        name, attributes, children = element
        self.out += bytes([0x41 if attributes else 0x01]) + b"\xff\xff"  # no dependency
        size_at = len(self.out)
        self.out += bytes(4)
        self._name(name)
        if attributes:
            list_at = len(self.out)
            self.out += bytes(4)
            for i, (attr, value) in enumerate(attributes):
                self.out.append(0x46 if i < len(attributes) - 1 else 0x06)
                self._name(attr)
                self._value(value)
            struct.pack_into("<I", self.out, list_at, len(self.out) - list_at - 4)
        if children:
            self.out.append(0x02)
            for child in children:
                if isinstance(child, tuple):
                    self.element(child)
                else:
                    self._value(child)
            self.out.append(0x04)
        else:
            self.out.append(0x03)
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)


def _record_xml(event: Element, base: int, number: int) -> bytes:
    """A record's binary XML: a template instance with its definition inline, then values."""
    out = bytearray(b"\x0f\x01\x01\x00\x0c\x01")
    out += struct.pack("<I", 0)  # template id
    definition = base + len(out) + 4
    out += struct.pack("<I", definition)
    out += struct.pack("<I", 0) + uuid.UUID(int=number).bytes_le  # a template id of its own
    template = _Template(definition + 24)
    template.element(event)
    template.out.append(0x00)  # end of stream
    out += struct.pack("<I", len(template.out)) + template.out
    values = [v.encode() for v in template.values]
    out += struct.pack("<I", len(values))
    for typed, raw in zip(template.values, values, strict=True):
        out += struct.pack("<HBB", len(raw), _TYPES[typed.kind], 0)
    out += b"".join(values)
    return bytes(out)


def _record(event: Element, when: dt.datetime, number: int, offset: int) -> bytes:
    body = _record_xml(event, offset + 24, number)
    size = 24 + len(body) + 4
    return (b"\x2a\x2a\x00\x00" + struct.pack("<IQQ", size, number, filetime(when)) + body
            + struct.pack("<I", size))


def _chunk(records: list[bytes], first_number: int, first_id: int) -> bytes:
    buf = bytearray(512)
    last = 512
    for record in records:
        last = len(buf)
        buf += record
    free = len(buf)
    buf += bytes(CHUNK - free)
    n = len(records)
    buf[:8] = b"ElfChnk\x00"
    struct.pack_into("<QQQQIII", buf, 8, first_number, first_number + n - 1, first_id,
                     first_id + n - 1, 128, last, free)
    struct.pack_into("<I", buf, 52, zlib.crc32(bytes(buf[512:free])))
    struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120]) + bytes(buf[128:512])))
    return bytes(buf)


def write_evtx(path: str | os.PathLike[str], events: Iterable[tuple[Element, dt.datetime]],
               *, first_id: int = 1) -> int:
    """Write ``(event element, written time)`` pairs as an EVTX file; returns the chunks
    written. Record ids count up from ``first_id``."""
    chunks: list[bytes] = []
    pending: list[bytes] = []
    size = 512
    number = first_number = first_id
    for event, when in events:
        record = _record(event, when, number, size)  # names point at offsets in the chunk
        if size + len(record) > CHUNK:
            if not pending:
                raise ConfigError(f"event {number} is too large for one 64 KiB chunk")
            chunks.append(_chunk(pending, first_number, first_number))
            pending, size, first_number = [], 512, number
            record = _record(event, when, number, size)
        pending.append(record)
        size += len(record)
        number += 1
    if pending:
        chunks.append(_chunk(pending, first_number, first_number))
    header = bytearray(FILE_HEADER)
    header[:8] = b"ElfFile\x00"
    struct.pack_into("<QQQIHHHH", header, 8, 0, max(0, len(chunks) - 1), number, 128, 1, 3,
                     FILE_HEADER, len(chunks))
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    with open(path, "wb") as fh:
        fh.write(header)
        for chunk in chunks:
            fh.write(chunk)
    return len(chunks)


# ------------------------------------------------------------------------------------ demo

_SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
_EVENTLOG = ("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")
_TASKS = {4624: 12544, 4625: 12544, 4688: 13312, 4720: 13824, 1102: 104}


def _system(event_id: int, record_id: int, when: dt.datetime, computer: str,
            provider: tuple[str, str] = _SECURITY, *, keywords: int = 0x8020000000000000,
            level: int = 0) -> Element:
    return ("System", [], [
        ("Provider", [("Name", provider[0]), ("Guid", provider[1])], []),
        ("EventID", [], [Typed("u16", event_id)]),
        ("Version", [], [Typed("u8", 2 if event_id in (4624, 4688) else 0)]),
        ("Level", [], [Typed("u8", level)]),
        ("Task", [], [Typed("u16", _TASKS.get(event_id, 0))]),
        ("Opcode", [], [Typed("u8", 0)]),
        ("Keywords", [], [Typed("hex64", keywords)]),
        ("TimeCreated", [("SystemTime", Typed("filetime", when))], []),
        ("EventRecordID", [], [Typed("u64", record_id)]),
        ("Correlation", [], []),
        ("Execution", [("ProcessID", Typed("u32", 724)), ("ThreadID", Typed("u32", 4388))], []),
        ("Channel", [], ["Security"]),
        ("Computer", [], [Typed("str", computer)]),
        ("Security", [], []),
    ])


def _event(system: Element, data: dict[str, Value] | None = None,
           user_data: Element | None = None) -> Element:
    body: list[Any] = [system]
    if data is not None:
        body.append(("EventData", [], [("Data", [("Name", k)], [v if isinstance(v, Typed)
                                                                 else Typed("str", v)])
                                       for k, v in data.items()]))
    if user_data is not None:
        body.append(("UserData", [], [user_data]))
    return ("Event", [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")], body)


def _demo_events(records: int, rng: random.Random, start: dt.datetime
                 ) -> list[tuple[Element, dt.datetime]]:
    users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
             "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"]
    hosts = [f"WS-{n:03d}.corp.example" for n in range(1, 13)]
    dc = "DC-01.corp.example"
    spray_ip, spray_at = "203.0.113.50", records // 3
    out: list[tuple[Element, dt.datetime]] = []
    when = start
    rid = 1
    for i in range(records):
        when = when + dt.timedelta(microseconds=rng.randint(150_000, 4_000_000))
        host = rng.choice(hosts)
        user = rng.choice(users)
        phase = i - spray_at
        if i == records - 1:  # the attacker covers their tracks
            event = _event(_system(1102, rid, when, dc, _EVENTLOG, keywords=0x4020000000000000,
                                   level=4),
                           user_data=("LogFileCleared", [
                               ("xmlns", "http://manifests.microsoft.com/win/2004/08/windows/"
                                         "eventlog")], [
                               ("SubjectUserSid", [], [Typed("sid", "S-1-5-21-3623811015-"
                                                             "3361044348-30300820-1013")]),
                               ("SubjectUserName", [], [Typed("str", "svc-backup")]),
                               ("SubjectDomainName", [], [Typed("str", "CORP")]),
                               ("SubjectLogonId", [], [Typed("hex64", 0x3E7A1C)])]))
        elif 0 <= phase < 40:  # a password spray against every account from one address
            event = _event(_system(4625, rid, when, dc, keywords=0x8010000000000000), {
                "TargetUserName": users[phase % len(users)], "TargetDomainName": "CORP",
                "Status": Typed("hex32", 0xC000006D), "FailureReason": "%%2313",
                "SubStatus": Typed("hex32", 0xC000006A), "LogonType": Typed("u32", 3),
                "WorkstationName": "KALI", "IpAddress": spray_ip,
                "IpPort": str(rng.randint(40000, 60000))})
        elif phase == 40:  # ... until one password works
            event = _logon(rid, when, dc, "svc-backup", 3, spray_ip, rng)
        elif phase == 41:
            event = _process(rid, when, dc, "svc-backup", "C:\\Windows\\System32\\"
                             "WindowsPowerShell\\v1.0\\powershell.exe", "powershell.exe -nop "
                             "-w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=")
        elif phase == 42:
            event = _event(_system(4720, rid, when, dc), {
                "TargetUserName": "helpdesk2", "TargetDomainName": "CORP",
                "TargetSid": Typed("sid", "S-1-5-21-3623811015-3361044348-30300820-1337"),
                "SubjectUserName": "svc-backup", "SubjectDomainName": "CORP",
                "SamAccountName": "helpdesk2", "UserAccountControl": "%%2080"})
        elif rng.random() < 0.7:
            event = _logon(rid, when, host, user, rng.choice([2, 3, 3, 10]),
                           f"10.20.{rng.randint(0, 9)}.{rng.randint(2, 250)}", rng)
        else:
            exe = rng.choice(["C:\\Windows\\System32\\svchost.exe",
                              "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
                              "OUTLOOK.EXE", "C:\\Windows\\explorer.exe",
                              "C:\\Windows\\System32\\cmd.exe"])
            event = _process(rid, when, host, user, exe, f'"{exe}"')
        out.append((event, when))
        rid += 1
    return out


def _logon(rid: int, when: dt.datetime, host: str, user: str, logon_type: int, ip: str,
           rng: random.Random) -> Element:
    return _event(_system(4624, rid, when, host), {
        "SubjectUserSid": Typed("sid", "S-1-5-18"), "SubjectUserName": host.split(".")[0] + "$",
        "SubjectDomainName": "CORP", "SubjectLogonId": Typed("hex64", 0x3E7),
        "TargetUserSid": Typed("sid", f"S-1-5-21-3623811015-3361044348-30300820-"
                                      f"{1000 + sum(map(ord, user))}"),
        "TargetUserName": user, "TargetDomainName": "CORP",
        "TargetLogonId": Typed("hex64", rng.randint(0x100000, 0xFFFFFFF)),
        "LogonType": Typed("u32", logon_type), "LogonProcessName": "NtLmSsp",
        "AuthenticationPackageName": "NTLM", "WorkstationName": host.split(".")[0],
        "IpAddress": ip, "IpPort": str(rng.randint(40000, 60000))})


def _process(rid: int, when: dt.datetime, host: str, user: str, exe: str,
             command: str) -> Element:
    return _event(_system(4688, rid, when, host), {
        "SubjectUserName": user, "SubjectDomainName": "CORP",
        "NewProcessId": Typed("hex64", 0x1A2C + rid), "NewProcessName": exe,
        "TokenElevationType": "%%1936", "CommandLine": command,
        "ParentProcessName": "C:\\Windows\\explorer.exe"})


def demo_evtx(path: str | os.PathLike[str], records: int = 1000, *, damaged: int = 0,
              seed: int = 7) -> Path:
    """Write a demo Windows Security log (``.evtx``) of ``records`` records; returns its path.

    Logons (4624) and process creations (4688) across a dozen workstations, with a story in
    the middle: a password spray from one address (4625 x 40), the logon that succeeds, an
    encoded PowerShell, a new account (4720), and at the end the log cleared (1102, whose
    details are in ``UserData``). Times are in January 2026 and the same for the same
    ``seed``. ``damaged=n`` overwrites the headers of ``n`` chunks in the middle, as a disk
    or a careless copy does, to show how :func:`read_evtx` reports damage.

    >>> path = hecnb.demo_evtx("Security-demo.evtx")           # doctest: +SKIP
    >>> hecnb.read_evtx(path)["EventID"].value_counts()         # doctest: +SKIP
    """
    if isinstance(records, bool) or not isinstance(records, int) or records < 1:
        raise ConfigError(f"records must be a whole number of at least 1; got {records!r}.")
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 5, 7, 58, 12, 250000, tzinfo=dt.timezone.utc)
    target = Path(path)
    chunks = write_evtx(target, _demo_events(records, rng, start))
    if damaged:
        middle = list(range(1, chunks - 1))
        if isinstance(damaged, bool) or not isinstance(damaged, int) or not (
                0 < damaged <= len(middle)):
            raise ConfigError(f"damaged must be from 0 to {len(middle)} for {records:,} records "
                              f"({chunks} chunks; the first and last stay whole); got "
                              f"{damaged!r}.")
        step = len(middle) / damaged
        with open(target, "r+b") as fh:
            for k in range(damaged):
                fh.seek(FILE_HEADER + middle[int(k * step + step / 2)] * CHUNK)
                fh.write(b"\xde\xad" * 256)  # the chunk header, overwritten
    return target
