"""The .xlsx package before any spreadsheet reader sees it: refuse bombs and crafted XML, learn the sheets,
and scan a sheet's XML for what a fast reader does not report (hidden rows and columns, merged ranges,
formula and error cells, the real extent of the data).

Everything here streams: an entry is inflated in chunks by zlib with its real size counted as it goes, so a
file that declares small sizes and inflates to gigabytes is stopped at the limit, in little memory. Our own
XML parsing (workbook, relationships) goes through defusedxml, and any part that declares a DTD is refused
outright: spreadsheet programs never write one, and it is how external entities and "billion laughs" come.
"""

from __future__ import annotations

import re
import struct
import threading
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as safe_fromstring

from stvs_tui.excel.errors import TooManyRows, UnreadableWorkbook

MAX_ENTRIES = 10_000
MAX_SHEET_BYTES = 600 * 1024 * 1024  # a 100k-row, 20-column roster with inline strings is ~100 MB
MAX_PART_BYTES = 300 * 1024 * 1024  # shared strings; other parts are far smaller
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 200  # real sheets inflate 5-30x; a bomb inflates hundreds or a thousand times
RATIO_FLOOR = 4 * 1024 * 1024  # small parts may inflate more (a tiny, very regular styles.xml)
MAX_SHARED_STRINGS = 3_000_000
CHUNK = 4 * 1024 * 1024
# Every XML part is checked to be well-formed (by expat, in C, no Python per element): calamine reads some
# broken XML leniently. A worksheet up to this size goes through expat whole while it is scanned; a larger one
# (expat takes ~0.45 s of CPU per 58 MB: as much as a third of calamine's read) only outside its rows, which
# calamine parses itself, the rows held to a cheap test instead (``SheetCheck``); a sheet that fails that
# test, or that calamine cannot read, is checked whole after all.
WELL_FORMED_CHECK_BYTES = 4 * 1024 * 1024
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_MAGIC = 0x04034B50

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_APP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


def damaged(path: Path, why: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"{path.name} 已损坏或不是有效的.xlsx工作簿 (damaged, or not a valid .xlsx): {why}")


def bomb(path: Path, why: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"{path.name} 解压后异常巨大，疑似恶意构造的文件，已拒绝读取 "
                              f"(refused: the file would inflate to an implausible size — {why})")


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str  # the sheet's XML inside the zip, e.g. xl/worksheets/sheet1.xml
    visible: bool


@dataclass
class Package:
    """What the zip holds that the import needs before reading any cell."""

    path: Path
    sheets: list[SheetEntry]
    program: str  # the application that saved it, as a clerk knows it: Excel, WPS表格, LibreOffice


@dataclass
class SheetFacts:
    """A sheet's XML, scanned: coordinates are 1-based (row, column) like Excel's own."""

    rows: int = 0  # <row> elements with content
    last_row: int = 0
    max_column: int = 0  # the widest column letters seen (a lower bound of 26 when all are single letters)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_col, min_row, max_col, max_row
    formulas: set[tuple[int, int]] = field(default_factory=set)
    errors: set[tuple[int, int]] = field(default_factory=set)
    unlocated: int = 0  # formula or error cells without an r="A1" reference (a few writers leave it out)
    unchecked: bool = False  # the rows still need expat's full check (``SheetCheck.suspicious``)


def open_package(path: Path) -> tuple[zipfile.ZipFile, Package]:
    """Check the zip's declared sizes, inflate and check every small part (all but worksheets), and read
    the sheet list; raises ``UnreadableWorkbook`` with the reason."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise damaged(path, str(exc)) from None
    try:
        _check_declared_sizes(path, archive)
        for info in archive.infolist():
            if _is_xml(info.filename) and not _is_worksheet(info.filename):
                counter = _SharedStringCounter(path) if info.filename.endswith("sharedStrings.xml") else None
                checker = WellFormed(path, info)
                for chunk in inflate(path, archive, info, MAX_PART_BYTES):
                    checker.feed(chunk)
                    if counter is not None:
                        counter.feed(chunk)
                checker.close()
        package = Package(path, _sheets(path, archive), _program(archive))
    except BaseException:
        archive.close()
        raise
    return archive, package


def _is_xml(name: str) -> bool:
    return name.endswith((".xml", ".rels", ".vml"))


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


def _check_declared_sizes(path: Path, archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise bomb(path, f"{len(infos):,} entries")
    total = 0
    for info in infos:
        limit = MAX_SHEET_BYTES if _is_worksheet(info.filename) else MAX_PART_BYTES
        if info.file_size > limit:
            raise bomb(path, f"{info.filename} declares {info.file_size:,} bytes")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise bomb(path, f"{info.filename} inflates {info.file_size // max(1, info.compress_size):,}x")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise bomb(path, f"{total:,} bytes in all")
    if "xl/workbook.xml" not in archive.namelist():
        raise damaged(path, "没有xl/workbook.xml (no workbook part: not a spreadsheet)")


def inflate(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """The entry's bytes in chunks, inflated here with its real size and ratio watched (the sizes in the zip
    are only claims), its CRC checked at the end, and a DTD in its prolog refused."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise damaged(path, f"{info.filename}: unsupported compression {info.compress_type}")
    if info.flag_bits & 0x1:
        raise damaged(path, f"{info.filename} is encrypted")
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or _LOCAL_HEADER.unpack(header)[0] != _LOCAL_MAGIC:
            raise damaged(path, f"{info.filename}: bad local header")
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        handle.seek(name_length + extra_length, 1)
        yield from _inflate_stream(path, handle, info, limit)


def _inflate_stream(path: Path, handle: object, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left = info.compress_size
    produced = crc = 0
    tail = b""
    while left > 0 or (inflater is not None and inflater.unconsumed_tail):
        if inflater is not None and inflater.unconsumed_tail:
            data = inflater.decompress(inflater.unconsumed_tail, CHUNK)
        else:
            raw = handle.read(min(CHUNK // 4, left))  # type: ignore[attr-defined]
            if not raw:
                raise damaged(path, f"{info.filename} is cut short")
            left -= len(raw)
            try:
                data = inflater.decompress(raw, CHUNK) if inflater is not None else raw
            except zlib.error as exc:
                raise damaged(path, f"{info.filename}: {exc}") from None
        produced += len(data)
        consumed = info.compress_size - left
        if produced > limit:
            raise bomb(path, f"{info.filename} passes {limit:,} bytes")
        if produced > RATIO_FLOOR and produced > MAX_RATIO * max(1, consumed):
            raise bomb(path, f"{info.filename} inflates over {MAX_RATIO}x")
        if data:
            # a DTD, a comment or CDATA: rare, looked at closer. (A one-byte test first: CPython finds one byte
            # with memchr, a two-byte one an order of magnitude slower.) A declaration cut in two by the chunks
            # ("…<!DOC" | "TYPE…") is seen whole here: the rows of a large sheet have no expat behind this.
            if (b"!" in data and b"<!" in data) or b"<!" in tail + data[:1]:
                _refuse_dtd(path, info.filename, tail + data)
            tail = data[-len(_DTD_LONGEST):]
            crc = zlib.crc32(data, crc)
            yield data
        if inflater is not None and inflater.eof:
            break
    if produced != info.file_size or crc != info.CRC:
        raise damaged(path, f"{info.filename}: size or checksum does not match the zip's directory")


_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_DTD_LONGEST = b"<!DOCTYPE"  # a chunk keeps this much of the one before: a declaration cut in two is seen whole


def _refuse_dtd(path: Path, name: str, data: bytes) -> None:
    # Anywhere in the part, not only at its head: a DTD may follow a long comment, and expat (our check)
    # and openpyxl's parser would read it there.
    if _DTD.search(data):
        raise UnreadableWorkbook(f"{path.name} 的{name}含有DTD实体声明，电子表格软件不会写入这种内容，疑似恶意构造，已拒绝 "
                                 "(refused: the file declares XML entities (a DTD), which no spreadsheet program writes)")


class WellFormed:
    """Feeds a part to expat (no handlers but the DTD's: C speed)."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self.path, self.name = path, info.filename
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._dtd  # never reached past _refuse_dtd: a second lock
        self.parser.EntityDeclHandler = self._dtd

    def _dtd(self, *_args: object) -> None:
        _refuse_dtd(self.path, self.name, b"<!DOCTYPE")

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except xml.parsers.expat.ExpatError as exc:
            raise damaged(self.path, f"{self.name}: XML {exc}") from None

    def close(self) -> None:
        self.feed(b"", final=True)


class SheetCheck:
    """A worksheet's well-formedness check, fed the chunks the scan inflates. Up to ``WELL_FORMED_CHECK_BYTES``
    the whole part goes through expat. A larger part: expat reads everything but the rows, i.e. the part up
    to ``<sheetData>`` and from ``</sheetData>`` on (calamine does not read past the rows, so a fault there is
    seen only here), and the rows, which calamine parses itself, are only counted: well-formed rows hold as
    many ``<`` as ``>`` (text and attribute values have no ``<``). Rows that do not (an unescaped ``<`` in a
    text, a broken tag), rows holding a comment, CDATA or a processing instruction (where a ``</sheetData>``
    would be no end), or a ``<sheetData>`` not found, make the sheet ``suspicious``: the caller has expat
    check it whole. (Such markup before ``<sheetData>`` has the whole sheet go through expat here.) What
    only expat would see inside rows that hold the count (a tag closed under another name, a duplicate
    attribute, a control character) is left to calamine, which refuses most of it: the cost of not parsing
    100k rows twice."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self.expat = WellFormed(path, info)
        self.state = "whole" if info.file_size <= WELL_FORMED_CHECK_BYTES else "head"
        self.held = b""
        self.skip = 8  # the XML declaration, <?xml …?>, opens the part (after a byte-order mark, if any)
        self.lt = self.gt = 0

    @property
    def suspicious(self) -> bool:
        """After ``close``: whether the rows need expat's full check."""
        return self.state in ("head", "rows", "off") or self.lt != self.gt

    def feed(self, chunk: bytes) -> None:
        if self.state in ("whole", "tail"):
            self.expat.feed(chunk)
            return
        if self.state == "off":
            return
        if self.state == "head":
            data = self.held + chunk
            start = _SHEET_DATA_START.search(data)
            before = len(data) if start is None else start.start()
            if (b"!" in data and data.find(b"<!", 0, before) >= 0) or data.find(b"<?", self.skip, before) >= 0:
                # a comment, CDATA or a processing instruction (past the XML declaration) before it, where a
                # <sheetData> is none: the whole sheet through expat
                self.state, self.held = "whole", b""
                self.expat.feed(data)
                return
            if start is None:
                cut = max(0, len(data) - _HOLD)  # a start tag cut in two is found whole with the next chunk
                self.expat.feed(data[:cut])
                self.held = data[cut:]
                self.skip = 0  # past the part's first bytes, where the XML declaration is
                return
            self.expat.feed(data[:start.end()])
            self.state, self.held = "rows", b""
            if start.group(1):  # <sheetData/>: no rows
                self.state = "tail"
                self.expat.feed(data[start.end():])
                return
            chunk = data[start.end():]
        # The rows: each chunk counted whole (no copy of it); an end tag cut in two by the chunks is found in
        # the seam, the last bytes of the chunk before (counted already) and the first of this one.
        if _has_markup(chunk, self.held[-1:]):  # checked whole after all (a </sheetData> there is no end)
            self.state, self.held = "off", b""
            return
        seam = self.held + chunk[:_HOLD]
        end = _sheet_data_end(seam)
        if 0 <= end < len(self.held):
            self.lt -= self.held.count(b"<", end)
            self.gt -= self.held.count(b">", end)
            self.state, self.held = "tail", b""
            self.expat.feed(seam[end:])
            self.expat.feed(chunk[_HOLD:])
            return
        end = end - len(self.held) if end >= 0 else _sheet_data_end(chunk)
        if end < 0:
            self.lt += chunk.count(b"<")
            self.gt += chunk.count(b">")
            self.held = chunk[-_HOLD:]
            return
        self.lt += chunk.count(b"<", 0, end)
        self.gt += chunk.count(b">", 0, end)
        self.state, self.held = "tail", b""
        self.expat.feed(chunk[end:])

    def close(self) -> None:
        if self.state in ("whole", "tail"):
            self.expat.close()


_HOLD = 256  # longer than any <sheetData …> or </x:sheetData> tag
_SHEET_DATA_START = re.compile(rb"<(?:[\w.-]+:)?sheetData(?:\s[^<>]*?)?(/?)>")
_SHEET_DATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>")


def _has_markup(data: bytes, before: bytes) -> bool:
    """A comment, CDATA section, DTD or processing instruction in ``data`` (``before``: the byte before it).
    One-byte tests first (memchr)."""
    if b"!" in data and (b"<!" in data or (before == b"<" and data[:1] == b"!")):
        return True
    return b"?" in data and (b"<?" in data or (before == b"<" and data[:1] == b"?"))


def _sheet_data_end(data: bytes) -> int:
    """Where ``</sheetData>`` begins in ``data`` (-1: not in it)."""
    if b"h" not in data:  # one byte first (memchr): rows seldom hold one
        return -1
    hit = data.find(b"sheetData")
    while hit >= 0:
        opening = data.rfind(b"</", max(0, hit - 64), hit)
        if opening >= 0 and _SHEET_DATA_END.match(data, opening):
            return opening
        hit = data.find(b"sheetData", hit + 9)
    return -1


def check_well_formed(path: Path, archive: zipfile.ZipFile, part: str, limit: int = MAX_SHEET_BYTES) -> None:
    """The whole part through expat; raises ``UnreadableWorkbook`` with the first fault, in one line."""
    info = archive.getinfo(part)
    checker = WellFormed(path, info)
    for chunk in inflate(path, archive, info, limit):
        checker.feed(chunk)
    checker.close()


class check_alongside:  # noqa: N801 (used as a context manager, like a function)
    """``check_well_formed`` of the parts on a second thread while the caller reads them with calamine, which
    lets go of the GIL. On leaving, the check's fault is raised: it names the broken XML, and wins over
    whatever calamine made of it."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, parts: list[str]) -> None:
        self.path, self.archive, self.parts = path, archive, parts
        self.error: UnreadableWorkbook | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-well-formed", daemon=True)

    def _run(self) -> None:
        try:
            for part in self.parts:
                check_well_formed(self.path, self.archive, part)
        except UnreadableWorkbook as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 (reported to the reader's thread, in one line)
            self.error = damaged(self.path, f"{type(exc).__name__}: {str(exc)[:200]}")

    def __enter__(self) -> check_alongside:
        if self.parts:
            self.thread.start()
        return self

    def __exit__(self, kind: object, _value: object, _trace: object) -> None:
        if self.parts:
            self.thread.join()
        if self.error is not None and (kind is None or issubclass(kind, Exception)):  # type: ignore[arg-type]
            raise self.error


class _SharedStringCounter:
    """Counts <si> items as shared strings stream by: refuses a table of millions of (tiny) strings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        self.count += data.count(b"<si>") + data.count(b"<si ") + data.count(b":si>") + data.count(b":si ")
        self.tail = data[-4:]
        self.count -= self.tail.count(b"<si>") + self.tail.count(b":si>")  # counted again with the next chunk
        if self.count > MAX_SHARED_STRINGS:
            raise bomb(self.path, f"more than {MAX_SHARED_STRINGS:,} shared strings")


def read_xml(path: Path, archive: zipfile.ZipFile, name: str) -> Element | None:
    """A small part parsed by defusedxml (None when the part is absent)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    data = b"".join(inflate(path, archive, info, MAX_PART_BYTES))
    try:
        return safe_fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise damaged(path, f"{name}: {exc}") from None


def _sheets(path: Path, archive: zipfile.ZipFile) -> list[SheetEntry]:
    workbook = read_xml(path, archive, "xl/workbook.xml")
    rels = read_xml(path, archive, "xl/_rels/workbook.xml.rels")
    targets = {}
    if rels is not None:
        for rel in rels.iter(f"{{{_NS_PKG_REL}}}Relationship"):
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            targets[rel.get("Id")] = _normalise_part(part)
    sheets = []
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet") if workbook is not None else ():
        part = targets.get(sheet.get(f"{{{_NS_REL}}}id"), "")
        if part in archive.namelist():
            sheets.append(SheetEntry(sheet.get("name", ""), part, sheet.get("state", "visible") == "visible"))
    if not sheets:
        raise damaged(path, "没有工作表 (no worksheets)")
    return sheets


def _normalise_part(part: str) -> str:
    parts: list[str] = []
    for piece in part.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _program(archive: zipfile.ZipFile) -> str:
    """The application that saved the file, named as a clerk knows it (for messages that blame it)."""
    try:
        app = archive.read("docProps/app.xml")[:4096]  # checked by open_package before this is called
    except KeyError:
        return ""
    text = app.decode("utf-8", "replace")
    match = re.search(r"<(?:\w+:)?Application>([^<]*)<", text)
    name = match.group(1) if match else ""
    for marker, known in (("WPS", "WPS表格"), ("Kingsoft", "WPS表格"), ("LibreOffice", "LibreOffice"),
                          ("OpenOffice", "OpenOffice"), ("Microsoft", "Excel"), ("Excel", "Excel")):
        if marker.lower() in name.lower():
            return known
    return ""


# --- the sheet scan --------------------------------------------------------------------------------------------

_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_R_ATTR = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_COL_TAG = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
_MIN_MAX = re.compile(rb'\bmin="(\d+)"[^>]*?\bmax="(\d+)"|\bmax="(\d+)"[^>]*?\bmin="(\d+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_FORMULA_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f[\s>/]")
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bt="e"[^>]*)>')
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_WIDE_REF = re.compile(rb' r="([A-Z]{2,3})\d')  # a literal first: the regex engine skips ahead fast
_FORMULA_HINTS = (b"<f", b":f")  # substring tests first: a regex over every chunk is slow


def column_number(letters: bytes | str) -> int:
    number = 0
    for char in letters if isinstance(letters, str) else letters.decode():
        number = number * 26 + ord(char) - 64
    return number


def scan_sheet(path: Path, archive: zipfile.ZipFile, entry: SheetEntry, *, max_rows: int, slack: int) -> SheetFacts:
    """Stream the sheet's XML once: cheap substring counts on every chunk, regexes only where they hit.

    Refuses (``TooManyRows``) as soon as the rows counted pass ``max_rows`` + ``slack`` (title and header
    rows), without reading the rest."""
    facts = SheetFacts()
    carry = b""
    info = archive.getinfo(entry.part)
    checker = SheetCheck(path, info)
    hints = _FORMULA_HINTS[:1]
    for chunk in inflate(path, archive, info, MAX_SHEET_BYTES):
        checker.feed(chunk)
        if not carry and not facts.rows and b"<worksheet" not in chunk[:4096]:
            hints = _FORMULA_HINTS  # a writer that prefixes the namespace: <x:worksheet>, <x:f>
        data = carry + chunk
        cut = _last_row_end(data)
        if len(data) - cut > CHUNK:  # no row ends in a long stretch (none yet, or past the last): cut before
            last_tag = data.rfind(b"<")  # the last tag instead, or inside a long text: the carry stays small
            cut = max(cut, last_tag if len(data) - last_tag <= CHUNK else len(data))
        _scan_piece(data, cut, facts, hints)  # the piece data[:cut], read where it lies (no copy of it)
        if _holds(data, b"mergeCell", b"g", cut):
            _merged(data, facts, cut)
        if facts.rows > max_rows + slack:
            _count_rows_with_values(data[:cut], facts)
            if facts.rows > max_rows + slack:
                raise TooManyRows(f"工作表“{entry.name}”的行数超过单次导入上限{max_rows:,}行；请分成多个文件导入 "
                                  f"(more than {max_rows:,} rows: split the file)")
        carry = data[cut:]
    _scan_piece(carry, len(carry), facts, hints)
    _merged(carry, facts)  # <mergeCells> follows <sheetData>: after the last row, in the carry or a piece before
    checker.close()
    facts.unchecked = checker.suspicious
    return facts


def _count_rows_with_values(piece: bytes, facts: SheetFacts) -> None:
    """Past the limit, count again the rows of this piece that hold a value: formatted but empty rows
    below a short table (borders drawn down to row 200,000) are no data. Rows counted in earlier pieces
    stay counted, so the count is an upper bound that can only err on the side of reading the sheet."""
    facts.rows -= piece.count(b"row>")
    facts.rows += sum(1 for row in piece.split(b"row>") if any(tag in row for tag in _VALUE_TAGS))


_VALUE_TAGS = (b"<v>", b"<is>", b":v>", b":is>", b"<v ", b":v ")


def _last_row_end(data: bytes) -> int:
    # Rows are cut whole, so a tag (or a cell and its formula) never straddles two pieces; the part
    # before <sheetData> and the merged ranges after it come whole with the first and last piece.
    end = data.rfind(b"row>")
    return end + 4 if end >= 0 else 0


def _holds(data: bytes, part: bytes, byte: bytes, end: int) -> bool:
    """``part`` in ``data[:end]``, one of its bytes looked for first (CPython finds one byte with memchr, a
    longer part an order of magnitude slower)."""
    return data.find(byte, 0, end) >= 0 and data.find(part, 0, end) >= 0


def _scan_piece(data: bytes, end: int, facts: SheetFacts, hints: tuple[bytes, ...]) -> None:
    """The piece ``data[:end]`` (the regexes' ``endpos`` reads it as if the data ended there)."""
    if not end:
        return
    facts.rows += data.count(b"row>", 0, end)  # closing tags: rows with cells (empty <row/> has none)
    start = data.rfind(b"<row ", 0, end)
    if start < 0:
        start = data.rfind(b":row ", 0, end)
    if start >= 0:
        match = _R_ATTR.search(data, start, min(start + 300, end))
        if match:
            facts.last_row = max(facts.last_row, int(match.group(1)))
    if _holds(data, b"hidden", b"h", end):
        _hidden(data, end, facts)
    if data.find(b"f", 0, end) >= 0 and any(data.find(hint, 0, end) >= 0 for hint in hints):
        facts.unlocated += _refs(_FORMULA_CELL.finditer(data, 0, end), facts.formulas)
    if _holds(data, b't="e"', b"e", end):
        facts.unlocated += _refs(_ERROR_CELL.finditer(data, 0, end), facts.errors)
    for match in _WIDE_REF.finditer(data, 0, end):
        facts.max_column = max(facts.max_column, column_number(match.group(1)))


def _merged(tail: bytes, facts: SheetFacts, end: int | None = None) -> None:
    for match in _MERGE.finditer(tail, 0, len(tail) if end is None else end):
        first_col, first_row = column_number(match.group(1)), int(match.group(2))
        last_col = column_number(match.group(3)) if match.group(3) else first_col
        last_row = int(match.group(4)) if match.group(4) else first_row
        facts.merged.append((first_col, first_row, last_col, last_row))


def _hidden(data: bytes, end: int, facts: SheetFacts) -> None:
    for match in _ROW_TAG.finditer(data, 0, end):
        attributes = match.group(1)
        if _HIDDEN.search(attributes):
            number = _R_ATTR.search(attributes)
            if number:
                facts.hidden_rows.add(int(number.group(1)))
    for match in _COL_TAG.finditer(data, 0, end):
        attributes = match.group(1)
        if _HIDDEN.search(attributes):
            bounds = _MIN_MAX.search(attributes)
            if bounds:
                low = int(bounds.group(1) or bounds.group(4))
                high = int(bounds.group(2) or bounds.group(3))
                facts.hidden_columns.update(range(low, min(high, 16384) + 1))


def _refs(matches: Iterator[re.Match[bytes]], found: set[tuple[int, int]]) -> int:
    """Add the matched cells' (row, column) to ``found``; returns how many had no reference."""
    unlocated = 0
    for match in matches:
        ref = _CELL_REF.search(match.group(1))
        if ref:
            found.add((int(ref.group(2)), column_number(ref.group(1))))
        else:
            unlocated += 1
    return unlocated
