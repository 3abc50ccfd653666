"""Crafted and broken files: zip and XML bombs are refused before any cell is read, in little memory;
DTDs, external entities and malformed XML get one clear line, never a traceback, and the store is unchanged."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from excel_helpers import change_count, fill_demo, resident_id, volunteer_count
from xlsx_parts import MAIN_NS, build_xlsx, sheet_xml

from schema.store import Store
from stvs_tui.cli import main
from stvs_tui.excel import UnreadableWorkbook, plan_import
from stvs_tui.excel import package as package_module

ROSTER = [["姓名", "证件号码", "手机号码"], ["张三", resident_id(), "13800001234"]]
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
          + "]>")


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size the zip claims for ``member`` (local header and central directory)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    local = data.find(b"PK\x03\x04" + bytes(0))
    while local >= 0:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30:local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def shared_strings_bomb(path: Path, megabytes: int) -> Path:
    """Shared strings that inflate to ``megabytes`` MB of repeated items (deflate packs them ~1000:1)."""
    item = b"<si><t>" + b"A" * 1000 + b"</t></si>"
    body = item * (megabytes * 1024 * 1024 // len(item))
    xml = f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}">'.encode() + body + b"</sst>"
    build_xlsx(path, [("名册", sheet_xml(ROSTER))], shared_strings=xml.decode(), compresslevel=9)
    return path


def refused_in_little_memory(path: Path, match: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableWorkbook, match=match):
            plan_import(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_a_part_declaring_a_gigabyte_is_refused_before_inflating(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))])
    set_declared_size(path, "xl/worksheets/sheet1.xml", 1_100_000_000)
    refused_in_little_memory(path, "解压后异常巨大.*declares 1,100,000,000 bytes")


def test_a_high_ratio_part_is_refused_from_its_declared_sizes(tmp_path: Path) -> None:
    path = shared_strings_bomb(tmp_path / "v.xlsx", 64)
    refused_in_little_memory(path, r"inflates \d[\d,]*x")


def test_a_bomb_that_understates_its_size_is_stopped_while_inflating(tmp_path: Path) -> None:
    path = shared_strings_bomb(tmp_path / "v.xlsx", 64)
    set_declared_size(path, "xl/sharedStrings.xml", 1000)
    refused_in_little_memory(path, "inflates over 200x")


def test_a_rows_bomb_that_understates_its_size_is_stopped_while_inflating(tmp_path: Path) -> None:
    """The sheet itself the bomb: 64 MB of identical rows of long text (deflate packs them ~1000:1; few enough
    rows not to pass the row limit first) claiming 1,000 bytes."""
    row = '<row><c t="inlineStr"><is><t>' + "A" * 1000 + "</t></is></c></row>"
    rows = row * (64 * 1024 * 1024 // len(row))
    xml = sheet_xml(ROSTER).replace("</sheetData>", rows + "</sheetData>")
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)], compresslevel=9)
    del rows, xml
    set_declared_size(path, "xl/worksheets/sheet1.xml", 1000)
    refused_in_little_memory(path, "sheet1.xml inflates over 200x")


def test_millions_of_shared_strings_are_refused_by_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_module, "MAX_SHARED_STRINGS", 1_000)
    items = "<si><t>x</t></si>" * 1_500
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))],
                      shared_strings=f'<sst xmlns="{MAIN_NS}" uniqueCount="1500">{items}</sst>')
    refused_in_little_memory(path, "more than 1,000 shared strings")


def test_billion_laughs_in_the_workbook_part_is_refused(tmp_path: Path) -> None:
    workbook = (LAUGHS + f'<workbook xmlns="{MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships"><sheets><sheet name="&lol9;" sheetId="1" r:id="rId1"/>'
                "</sheets></workbook>")
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))], workbook_xml=workbook)
    refused_in_little_memory(path, "DTD")


def test_an_external_entity_in_a_sheet_is_refused(tmp_path: Path) -> None:
    xml = sheet_xml(ROSTER).replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
                                    '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    xml = xml.replace("张三", "&x;")
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)])
    refused_in_little_memory(path, "DTD")


@pytest.mark.parametrize("broken", [
    lambda xml: xml.replace("</sheetData>", ""),
    lambda xml: xml[: len(xml) // 2],
    lambda xml: xml.replace('<row r="2">', '<row r="2"><c r="A2" <<t="s"><v>1</v></c>'),
])
def test_malformed_sheet_xml_is_one_clear_reason(tmp_path: Path, broken) -> None:
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", broken(sheet_xml(ROSTER)))])
    with pytest.raises(UnreadableWorkbook, match="已损坏") as caught:
        plan_import(path)
    assert "\n" not in str(caught.value)


def test_malformed_workbook_xml_is_one_clear_reason(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))], workbook_xml="<workbook><sheets>")
    with pytest.raises(UnreadableWorkbook, match="已损坏.*workbook.xml"):
        plan_import(path)


def test_a_corrupted_part_fails_its_checksum(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))], compresslevel=0)
    data = path.read_bytes().replace("张三".encode(), "李四".encode())  # stored bytes edited, CRC left as it was
    path.write_bytes(data)
    with pytest.raises(UnreadableWorkbook, match="checksum"):
        plan_import(path)


def test_cli_refuses_a_bomb_in_one_line_and_leaves_the_store_unchanged(store: Store, store_path: Path,
                                                                         tmp_path: Path) -> None:
    fill_demo(store, 10)
    before = (volunteer_count(store), change_count(store))
    path = shared_strings_bomb(tmp_path / "bomb.xlsx", 16)
    set_declared_size(path, "xl/sharedStrings.xml", 1000)
    result = CliRunner().invoke(main, ["--data-dir", str(store_path.parent), "import", "volunteers", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "bomb.xlsx" in result.stderr
    assert (volunteer_count(store), change_count(store)) == before


def test_the_deflate_stream_is_checked_against_the_size_it_claims(tmp_path: Path) -> None:
    """A stream that ends before its declared size: the part is cut short, not read as it claims."""
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))])
    set_declared_size(path, "xl/worksheets/sheet1.xml", len(zlib.compress(b"x")) + 10_000)
    with pytest.raises(UnreadableWorkbook, match="size or checksum"):
        plan_import(path)


# --- broken parts of any size: the well-formedness check covers parts past 32 MB too -------------------------

BIG = package_module.WELL_FORMED_CHECK_BYTES + 4 * 1024 * 1024


def padding(size: int) -> str:
    """``size`` characters of base64 text (inflates ~1.3x: no bomb), for an element calamine passes over."""
    import base64
    import random

    return base64.b64encode(random.Random(7).randbytes(size * 3 // 4 + 3)).decode()[:size]


def big_sheet(tail: str, size: int = BIG) -> str:
    """The roster, then a page header padded to ``size``, then ``tail`` before the end."""
    xml = sheet_xml(ROSTER)
    pad = f"<headerFooter><oddHeader>{padding(size)}</oddHeader></headerFooter>"
    return xml.replace("</worksheet>", pad + tail + "</worksheet>")


def test_a_broken_sheet_past_32_mb_is_one_clear_reason(tmp_path: Path) -> None:
    """Broken after the data, where calamine stops reading: only the full XML check sees it (on a second
    thread while calamine reads)."""
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", big_sheet("<pageSetup><a></b>"))], compresslevel=1)
    assert zipfile_size(path, "xl/worksheets/sheet1.xml") > package_module.WELL_FORMED_CHECK_BYTES
    with pytest.raises(UnreadableWorkbook, match=r"已损坏.*sheet1\.xml: XML") as caught:
        refused_in_little_memory_plan(path)
    assert "\n" not in str(caught.value)


def test_broken_shared_strings_of_any_size_are_one_clear_reason(tmp_path: Path) -> None:
    """Parts other than worksheets are checked whole whatever their size (no threshold: small here)."""
    strings = f'<sst xmlns="{MAIN_NS}"><si><t>{padding(3 * package_module.CHUNK)}</t></si><si><t>x</si></sst>'
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))], shared_strings=strings, compresslevel=1)
    with pytest.raises(UnreadableWorkbook, match=r"已损坏.*sharedStrings\.xml: XML") as caught:
        refused_in_little_memory_plan(path)
    assert "\n" not in str(caught.value)


def test_an_entity_declared_far_into_a_sheet_is_refused(tmp_path: Path) -> None:
    """A DTD past the first chunks (after a long comment, say) is seen: every chunk is looked at."""
    tail = '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", big_sheet(tail, 3 * package_module.CHUNK))], compresslevel=1)
    refused_in_little_memory(path, "DTD")


def test_billion_laughs_after_a_long_comment_in_shared_strings_is_refused(tmp_path: Path) -> None:
    laughs = LAUGHS.replace('<?xml version="1.0"?>', f'<?xml version="1.0"?><!-- {padding(200_000)} -->')
    strings = laughs + f'<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", sheet_xml(ROSTER))], shared_strings=strings)
    refused_in_little_memory(path, "DTD")


def zipfile_size(path: Path, member: str) -> int:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(member).file_size


def refused_in_little_memory_plan(path: Path) -> None:
    """``plan_import`` under tracemalloc: whatever it raises, Python's own allocations stayed under 64 MB
    (the part is inflated in 4 MB chunks, never whole)."""
    tracemalloc.start()
    try:
        plan_import(path)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 64 * 1024 * 1024


# --- a large sheet's rows: counted, not parsed twice (SheetCheck); expat whole when they look wrong ----------

def stored_xlsx(path: Path, sheet: str) -> Path:
    """``build_xlsx`` with the sheet stored uncompressed: its inflated chunks are the zip's read size exactly."""
    import zipfile

    build_xlsx(path, [("名册", sheet)], compresslevel=1)
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts:
            archive.writestr(name, data, zipfile.ZIP_STORED if name.endswith("sheet1.xml") else zipfile.ZIP_DEFLATED)
    return path


def rows_sheet(extra_rows: str, at: int | None = None) -> str:
    """The roster with ``extra_rows`` among its rows, a padded page header making it a large sheet (past
    ``WELL_FORMED_CHECK_BYTES``); with ``at``, a filler row first puts ``extra_rows`` at byte ``at``."""
    xml = big_sheet("")
    cut = xml.index("</sheetData>")
    if at is not None:
        filler = '<row r="900"><c r="Z900" t="inlineStr"><is><t>{}</t></is></c></row>'
        extra_rows = filler.format("A" * (at - len(xml[:cut].encode()) - len(filler.format("")))) + extra_rows
    return xml[:cut] + extra_rows + xml[cut:]


def test_a_doctype_cut_in_two_by_the_chunks_is_refused(tmp_path: Path) -> None:
    """Among a large sheet's rows, which expat does not read: "<!DOC" ends one inflated chunk, "TYPE" begins
    the next, and no other "!" follows that would make the second chunk looked at."""
    boundary = package_module.CHUNK // 4  # a stored part comes in reads of this size
    doctype = '<!DOCTYPE w SYSTEM "http://attacker.example/w.dtd">'
    sheet = rows_sheet(doctype, at=boundary - len("<!DOC"))
    assert sheet.encode()[boundary - 5:boundary] == b"<!DOC" and sheet.count("!") == 1
    refused_in_little_memory(stored_xlsx(tmp_path / "v.xlsx", sheet), "DTD")


def test_an_unescaped_less_than_in_a_large_sheets_rows_is_one_clear_reason(tmp_path: Path) -> None:
    """calamine reads "<2年" as a tag and loses the text silently: the rows' count of < and > differs, so
    expat checks the sheet whole and names the fault."""
    row = '<row r="3"><c r="A3" t="inlineStr"><is><t>张<2年</t></is></c></row>'
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", rows_sheet(row))], compresslevel=1)
    with pytest.raises(UnreadableWorkbook, match=r"已损坏.*sheet1\.xml: XML") as caught:
        refused_in_little_memory_plan(path)
    assert "\n" not in str(caught.value)


def test_a_large_sheet_calamine_cannot_read_gets_expats_reason(tmp_path: Path) -> None:
    """A cell left open: as many < as > (no cause to check the rows whole), calamine fails; expat's account
    (which tag, where) is given, in one line."""
    row = '<row r="3"><c r="A3" t="inlineStr"><is><t>张</t></is></row>'
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", rows_sheet(row))], compresslevel=1)
    with pytest.raises(UnreadableWorkbook, match=r"已损坏.*sheet1\.xml: XML mismatched tag") as caught:
        plan_import(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("rows", "suspicious"), [
    ("", False),
    ('<row r="3"><c r="A3" t="inlineStr"><is><t>a &gt; b, 1 &lt; 2</t></is></c></row>', False),
    ('<row r="3"><c r="A3" t="inlineStr"><is><t>a > b</t></is></c></row>', True),  # well-formed: checked whole
    ("<!-- a comment where </sheetData> is no end -->", True),
    ("<?pi </sheetData> is no end here either?>", True),
    ("<![CDATA[1 < 2]]>", True),
])
def test_a_large_sheets_rows_are_checked_whole_only_when_they_look_odd(tmp_path: Path, rows: str,
                                                                      suspicious: bool) -> None:
    import zipfile

    path = build_xlsx(tmp_path / "v.xlsx", [("名册", rows_sheet(rows))], compresslevel=1)
    with zipfile.ZipFile(path) as archive:
        _archive, package = package_module.open_package(path)
        _archive.close()
        facts = package_module.scan_sheet(path, archive, package.sheets[0], max_rows=100, slack=30)
    assert facts.unchecked is suspicious
    assert plan_import(path).rows  # well-formed all: imported either way


@pytest.mark.parametrize("markup", ["<!-- <sheetData> -->", "<?pi <sheetData> ?>"])
def test_a_sheet_data_tag_in_markup_before_the_rows_is_no_start(tmp_path: Path, markup: str) -> None:
    """Markup before <sheetData> (a comment or instruction naming it): the whole sheet goes through expat,
    and imports."""
    xml = rows_sheet("").replace("<sheetData>", markup + "<sheetData>", 1)
    path = build_xlsx(tmp_path / "v.xlsx", [("名册", xml)], compresslevel=1)
    assert [row.get("name") for row in plan_import(path).rows] == ["张三"]
