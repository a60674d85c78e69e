"""Events typed into a notebook cell: JSON, YAML, CSV, XML or plain text lines -> records.

The ``%%hec_send`` cell magic hands its body to :func:`parse_cell`; it lives here, apart from
IPython, so that it can be tested (and reused) without a notebook. Every mistake is a
:class:`~hecnb.ConversionError` whose message is one sentence that says where (line and column
when known) and what is wrong.

What each format accepts and gives:

- ``json``: one object, an array of objects, JSON lines, or objects one after another
  (pretty-printed is fine). Values keep their JSON types. An object that is already an HEC
  envelope (``{"event": {...}, "host": ...}``) is sent as it is.
- ``yaml``: one or more documents (``---``), each a mapping or a list of mappings; safe loader
  only, so no Python objects. Values keep their YAML types (dates become dates).
- ``csv``: a header line, then one event per row. Values stay strings, exactly as typed (IDs such
  as ``007`` keep their zeros, and the collector reads CSV as text anyway); an empty cell is an
  empty string. Comma-separated, or tab-separated when the header has tabs and no commas;
  spaces after a separator are ignored. A row with more or fewer values than the header is a
  mistake.
- ``xml``: ``<events><event>...</event>...</events>``, a single ``<event>``, or a sequence of
  elements. Child elements become keys (a repeated tag a list), attributes ``@name``, leaf
  text strings: the same mapping the collector uses. DTDs and entities are refused.
- ``text``: each non-blank line is one event (a string; sent as-is on the raw endpoint, or as
  ``{"message": line}`` in an envelope).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

import yaml

from .._errors import ConversionError
from .._lazy import is_columnar, is_frame

__all__ = ["CELL_FORMATS", "notebook_variable", "parse_cell"]

#: Formats a cell body may be written in (``text`` is a cell-only format, sent as json/raw).
CELL_FORMATS: tuple[str, ...] = ("json", "yaml", "xml", "csv", "text")

_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_JSON_WS = re.compile(r"\s*")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_WRAPPER = "hecnb-cell"


def parse_cell(text: str, fmt: str = "json") -> list[Any]:
    """The events written in a cell body: dicts (strings for ``text``), in order.

    >>> parse_cell('{"user": "alice"}\\n{"user": "bob"}')
    [{'user': 'alice'}, {'user': 'bob'}]
    >>> parse_cell("user,n\\nalice,1", "csv")
    [{'user': 'alice', 'n': '1'}]
    """
    name = str(fmt).strip().lower()
    parser = _PARSERS.get(name)
    if parser is None:
        raise ConversionError(f"Unknown cell format {fmt!r}: use one of "
                              f"{', '.join(CELL_FORMATS)}.")
    if not text or not text.strip():
        raise ConversionError("The cell is empty: write the events to send below the "
                              "%%hec_send line.")
    records = parser(text)
    if not records:
        raise ConversionError(f"The {name} cell holds no events: nothing to send.")
    return records


# ------------------------------------------------------------------------------------- json


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {str: "a string", int: "a number", float: "a number", list: "an array"}.get(
        type(value), f"a {type(value).__name__}")


def _parse_json(text: str) -> list[Any]:
    """Objects one after another (JSON lines or not), or arrays of them."""
    decoder = json.JSONDecoder()
    records: list[Any] = []
    pos = _JSON_WS.match(text, 0).end()  # type: ignore[union-attr]
    while pos < len(text):
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ConversionError(f"The cell is not valid JSON at line {exc.lineno}, column "
                                  f"{exc.colno}: {exc.msg}.", row=exc.lineno) from None
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise ConversionError(f"The JSON value at line {line} is {_kind(item)}, not an "
                                      "object: each event must be a JSON object (use --format "
                                      "text for lines of text).", row=line)
            records.append(item)
        pos = _JSON_WS.match(text, pos).end()  # type: ignore[union-attr]
    return records


# ------------------------------------------------------------------------------------- yaml


def _parse_yaml(text: str) -> list[Any]:
    """Each document a mapping, or a list of mappings; empty documents are skipped."""
    records: list[Any] = []
    try:
        for number, doc in enumerate(yaml.load_all(text, Loader=_YamlLoader), 1):
            if doc is None:
                continue
            items = doc if isinstance(doc, list) else [doc]
            for item in items:
                if not isinstance(item, dict):
                    raise ConversionError(f"YAML document {number} holds {_kind(item)}, not a "
                                          "mapping: each event must be a mapping of keys to "
                                          "values.", row=number)
                records.append(item)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConversionError(f"The cell is not valid YAML{where}: {problem}.",
                              row=mark.line + 1 if mark else None) from None
    return records


# -------------------------------------------------------------------------------------- csv


def _parse_csv(text: str) -> list[Any]:
    """A header line, then one dict of strings per row."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    header_line = lines[first]
    delimiter = "\t" if "\t" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delimiter,
                        skipinitialspace=True, strict=True)
    records: list[Any] = []
    header: list[str] | None = None
    try:
        for row in reader:
            line = first + reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [name.strip() for name in row]
                for i, name in enumerate(header, 1):
                    if not name:
                        raise ConversionError(f"Column {i} of the CSV header (line {line}) has "
                                              "no name: every column needs one.", column=i)
                    if header.index(name) != i - 1:
                        raise ConversionError(f"The CSV header (line {line}) names column "
                                              f"{name!r} twice.", column=name)
                continue
            if len(row) != len(header):
                raise ConversionError(f"CSV line {line} has {len(row)} values but the header has "
                                      f"{len(header)} columns.", row=line)
            records.append(dict(zip(header, row, strict=True)))
    except csv.Error as exc:
        raise ConversionError(f"The cell is not valid CSV at line {first + reader.line_num}: "
                              f"{exc}.", row=first + reader.line_num) from None
    if header is not None and not records:
        raise ConversionError("The CSV cell has a header but no rows: nothing to send.")
    return records


# -------------------------------------------------------------------------------------- xml


def _local(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def _xml_value(element: ElementTree.Element) -> Any:
    """Child elements become keys (repeated tags a list), attributes '@name', leaves strings."""
    children = list(element)
    if not children and not element.attrib:
        return element.text or ""
    result: dict[str, Any] = {f"@{_local(k)}": v for k, v in element.attrib.items()}
    for child in children:
        tag, value = _local(child.tag), _xml_value(child)
        if tag in result:
            existing = result[tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[tag] = [existing, value]
        else:
            result[tag] = value
    text = (element.text or "").strip()
    if text and not children:
        result["#text"] = text
    return result


def _is_record(element: ElementTree.Element) -> bool:
    return len(element) > 0 or bool(element.attrib)


def _parse_xml(text: str) -> list[Any]:
    """``<events><event/>...</events>``, one ``<event>``, or several elements in a row."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise ConversionError("The XML cell has a DOCTYPE or ENTITY declaration: these are not "
                              "accepted, write the events' elements only.")
    try:
        root = ElementTree.fromstring(text.strip())
        wrapped = False
    except ElementTree.ParseError as first:
        body = _XML_DECL.sub("", text.strip(), count=1)
        try:  # several elements in a row: give them a common parent
            root = ElementTree.fromstring(f"<{_WRAPPER}>{body}</{_WRAPPER}>")
            wrapped = True
        except ElementTree.ParseError:
            line, column = first.position
            message = str(first).split(":")[0]
            raise ConversionError(f"The cell is not valid XML at line {line}, column "
                                  f"{column + 1}: {message}.", row=line) from None
    tag = _local(root.tag)
    if wrapped or tag == "events" or (
            tag != "event" and len(root) > 0 and all(_is_record(c) for c in root)):
        elements = list(root)
    else:
        elements = [root]
    records = []
    for element in elements:
        if not _is_record(element):
            raise ConversionError(f"The XML element <{_local(element.tag)}> has no child "
                                  "elements or attributes: an event needs fields, such as "
                                  "<event><user>alice</user></event>.")
        records.append(_xml_value(element))
    return records


# ------------------------------------------------------------------------------------- text


def _parse_text(text: str) -> list[Any]:
    """Each non-blank line, as typed."""
    return [line for line in text.splitlines() if line.strip()]


_PARSERS = {"json": _parse_json, "yaml": _parse_yaml, "yml": _parse_yaml, "xml": _parse_xml,
            "csv": _parse_csv, "text": _parse_text, "ndjson": _parse_json, "jsonl": _parse_json}


def notebook_variable(namespace: Mapping[str, Any], name: str) -> Any:
    """The DataFrame or list called ``name`` (a dict becomes a list of one event); ``a.b``
    follows attributes."""
    head, *attrs = name.split(".")
    if not head.isidentifier() or not all(a.isidentifier() for a in attrs):
        raise ConversionError(f"{name!r} is not a variable name: %hec_send takes the name of a "
                              "DataFrame, list or dict.")
    if head not in namespace:
        raise ConversionError(f"No variable named {head!r} in the notebook: run the cell that "
                              "makes it first.")
    value = namespace[head]
    for i, attr in enumerate(attrs):
        try:
            value = getattr(value, attr)
        except AttributeError:
            where = ".".join([head, *attrs[:i]])
            raise ConversionError(f"{where!r} has no attribute {attr!r}.") from None
    if isinstance(value, dict):
        return [value]  # one event (HEC.send takes an iterable of events)
    if isinstance(value, (list, tuple)):
        return list(value)
    if is_frame(value) or is_columnar(value):  # pandas, Polars, Arrow, a Parquet source
        return value
    raise ConversionError(f"{name!r} is a {type(value).__name__}: %hec_send sends a DataFrame "
                          "(pandas, Polars or Arrow), a list of dicts or a dict.")


