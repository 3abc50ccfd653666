"""Files that cannot be imported at all get one clear reason, and nothing is written."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest
from excel_helpers import HEADERS, resident_id, write_book
from openpyxl import Workbook

from schema.store import Store
from stvs_tui.excel import TooManyRows, UnreadableWorkbook, UnrecognisedSheet, plan_import
from stvs_tui.excel import package as package_module

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def ole_file(path: Path, *streams: str) -> Path:
    """An OLE compound file's header and a directory sector naming ``streams`` (UTF-16LE, as Office writes)."""
    header = OLE_MAGIC + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + bytes(512 - 32)
    directory = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in ("Root Entry", *streams))
    path.write_bytes(header + directory.ljust(512, b"\0"))
    return path


def test_a_text_file_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("姓名,证件号码\n张三,1\n", encoding="utf-8")
    with pytest.raises(UnreadableWorkbook, match="不是Excel工作簿"):
        plan_import(path)


def test_an_old_xls_is_asked_to_be_saved_as_xlsx(tmp_path: Path) -> None:
    path = ole_file(tmp_path / "roster.xls", "Workbook", "\x05SummaryInformation")
    with pytest.raises(UnreadableWorkbook, match=r"\.xls.*另存为\.xlsx"):
        plan_import(path)


def test_a_password_protected_workbook_is_named_as_such(tmp_path: Path) -> None:
    path = ole_file(tmp_path / "roster.xlsx", "EncryptionInfo", "EncryptedPackage")
    with pytest.raises(UnreadableWorkbook, match="密码"):
        plan_import(path)


def test_a_damaged_zip_is_refused(tmp_path: Path) -> None:
    good = write_book(tmp_path / "good.xlsx", [HEADERS])
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UnreadableWorkbook, match="已损坏"):
        plan_import(path)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(UnreadableWorkbook):
        plan_import(path)


def test_no_recognisable_header_names_the_expected_columns(tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [["产品", "数量", "单价"], ["苹果", 3, 2.5]])
    with pytest.raises(UnrecognisedSheet, match="找不到表头.*姓名"):
        plan_import(path)


def test_missing_required_columns_are_listed_with_their_accepted_names(tmp_path: Path) -> None:
    path = write_book(tmp_path / "v.xlsx", [["姓名", "工作单位", "备注"], ["张三", "县医院", ""]])
    with pytest.raises(UnrecognisedSheet) as caught:
        plan_import(path)
    message = str(caught.value)
    assert "证件号码（可用列名：" in message and "身份证号" in message and "手机号码" in message


def test_the_roster_is_found_on_a_later_sheet(store: Store, tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["说明：请在第二个工作表填写"])
    roster = workbook.create_sheet("名册")
    roster.append(HEADERS)
    roster.append(["张三", resident_id(), "13800001234", "", ""])
    workbook.save(tmp_path / "v.xlsx")
    plan = plan_import(tmp_path / "v.xlsx", store)
    assert plan.sheet == "名册" and len(plan.rows) == 1


def million_row_workbook(path: Path, rows: int) -> Path:
    """A real .xlsx with ``rows`` rows, streamed straight to the zip (openpyxl would take minutes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN_NS}"><dimension ref="A1:C{rows}"/><sheetData>'.encode())
            sheet.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe5\xa7\x93\xe5\x90\x8d</t></is></c></row>')
            chunk = []
            for n in range(2, rows + 1):
                chunk.append(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>')
                if len(chunk) == 50_000:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return path


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="名册" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>')


def test_a_million_row_sheet_is_refused_at_once_without_reading_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused as soon as the rows counted pass the limit: in little memory, having inflated a small part of the
    sheet (measured in bytes read, not in seconds: a test must not depend on the machine's speed)."""
    path = million_row_workbook(tmp_path / "huge.xlsx", 1_000_000)
    real_inflate, read = package_module.inflate, []

    def counted(path, archive, info, limit):  # the real inflate, its bytes counted
        for chunk in real_inflate(path, archive, info, limit):
            if info.filename == "xl/worksheets/sheet1.xml":
                read.append(len(chunk))
            yield chunk

    monkeypatch.setattr(package_module, "inflate", counted)
    tracemalloc.start()
    with pytest.raises(TooManyRows, match="上限100,000行"):
        plan_import(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert sum(read) < size / 3 and peak < 50 * 1024 * 1024


def test_a_sheet_without_a_size_is_counted_while_streaming_and_refused_past_the_limit(tmp_path: Path) -> None:
    workbook = Workbook(write_only=True)  # write-only sheets carry no <dimension>
    sheet = workbook.create_sheet("名册")
    sheet.append(HEADERS)
    for n in range(1_200):
        sheet.append([f"志愿者{n}", resident_id("19850312", f"{n % 1000:03d}"), f"138{n:08d}", "", ""])
    workbook.save(tmp_path / "long.xlsx")
    with pytest.raises(TooManyRows, match="上限1,000行"):
        plan_import(tmp_path / "long.xlsx", max_rows=1_000)
