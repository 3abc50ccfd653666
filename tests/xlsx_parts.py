"""Hand-built .xlsx packages for the import tests: the exact XML a writer leaves (numbers in ID cells,
hidden rows, a far-away cell, DTDs, bombs), which no spreadsheet library would write for us."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_xml(row: int, column: int, value: Any) -> str:
    """A cell as writers store it: text inline, numbers as <v>; a str starting with '=' is a formula."""
    ref = f"{column_letters(column)}{row}"
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if value.startswith("="):
        return f'<c r="{ref}"><f>{escape(value[1:])}</f></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def sheet_xml(rows: Sequence[Sequence[Any]], *, first_row: int = 1, hidden_rows: Sequence[int] = (),
              hidden_columns: Sequence[int] = (), merged: Sequence[str] = (), dimension: str | None = None,
              tail_rows: str = "") -> str:
    cols = "".join(f'<col min="{c}" max="{c}" width="12" hidden="1" customWidth="1"/>' for c in hidden_columns)
    body = []
    for offset, values in enumerate(rows):
        number = first_row + offset
        hidden = ' hidden="1"' if number in hidden_rows else ""
        cells = "".join(cell_xml(number, column, v) for column, v in enumerate(values, start=1))
        body.append(f'<row r="{number}"{hidden}>{cells}</row>')
    merges = (f'<mergeCells count="{len(merged)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merged)
              + "</mergeCells>") if merged else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + (f"<cols>{cols}</cols>" if cols else "")
            + f"<sheetData>{''.join(body)}{tail_rows}</sheetData>{merges}</worksheet>")


def build_xlsx(path: Path, sheets: Sequence[tuple[str, str]], *, shared_strings: str | None = None,
               application: str | None = "Microsoft Excel", workbook_xml: str | None = None,
               compresslevel: int = 6) -> Path:
    """A package holding ``sheets`` (name, sheet XML), optionally shared strings and docProps/app.xml."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(sheets) + 1))
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types '
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>"))
        archive.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"))
        names = "".join(f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                        for n, (name, _xml) in enumerate(sheets, start=1))
        archive.writestr("xl/workbook.xml", workbook_xml or (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{_REL_NS}">'
            f"<sheets>{names}</sheets></workbook>"))
        rels = "".join(f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                       for n in range(1, len(sheets) + 1))
        if shared_strings is not None:
            rels += f'<Relationship Id="rId999" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        archive.writestr("xl/_rels/workbook.xml.rels",
                         f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL_NS}">{rels}'
                         "</Relationships>")
        if application is not None:
            archive.writestr("docProps/app.xml", (
                '<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/extended-properties"><Application>{escape(application)}</Application>'
                "</Properties>"))
        for n, (_name, xml) in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{n}.xml", xml)
    return path


def roster_xlsx(path: Path, rows: Sequence[Sequence[Any]], **kwargs: Any) -> Path:
    """One sheet named 名册 from ``rows`` (``sheet_xml`` options apply; ``application`` too)."""
    application = kwargs.pop("application", "Microsoft Excel")
    return build_xlsx(path, [("名册", sheet_xml(rows, **kwargs))], application=application)
