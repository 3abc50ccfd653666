"""The blank roster template: the expected headers, drop-down lists for the enumerations (from the schema's
enums), text-formatted ID and phone columns, and an instructions sheet. It imports back as it is filled in.
"""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation

from schema.models import Volunteer, field_aliases, field_label
from stvs_tui.excel.columns import (
    BOOL_FIELDS,
    DATE_FIELDS,
    DIGIT_FIELDS,
    ENUM_FIELDS,
    LIST_FIELDS,
    REQUIRED_FIELDS,
    ROSTER_FIELDS,
    YES_NO,
    roster_headers,
)
from stvs_tui.excel.sheet import HEADER_FONT, FormSheet, column_widths, page_units, saving_workbook

# What a clerk types, to size the columns (an 18-digit ID must show whole); choices size their own columns.
EXAMPLE = {"name": "欧阳晓明", "birth_date": "1985-03-12", "id_number": "410522198503121234", "mobile": "13800001234",
           "phone2": "0372-5123456", "work_unit": "县第一人民医院", "title": "副主任医师", "expertise": "果树栽培",
           "availability": "周末", "stvs_registered_on": "2021-05-01", "joined_on": "2021-04-01"}

TEMPLATE_ROWS = 2000  # rows prepared with drop-downs and text formats
OPTIONS_SHEET = "选项"
REQUIRED_FONT = Font(name="宋体", size=11, bold=True, color="C00000")
GENERAL_NOTES = (
    "1. 第一行为表头：列名可用“可用列名”中的任一写法，列的顺序不限；不认识的列会被忽略。",
    "2. 红色列名为必填：姓名、证件号码、手机号码。居民身份证号码会自动得出性别和出生日期，可不填这两列。",
    "3. 证件号码、手机号码请按文本填写（本模板已设为文本格式），否则Excel会丢失末几位数字。",
    "4. 日期写作 2021-03-05、2021/3/5 或 2021年3月5日；人才类别可填多个，用“、”分隔。",
    "5. 不要合并单元格，不要使用公式；从别处复制时请“粘贴为数值”。",
    "6. 导入前可先检查：stvs-tui import volunteers 名册.xlsx --dry-run（只检查，不写入）。",
    "7. 已登记的志愿者（证件号码相同，或姓名和手机号码都相同）默认跳过，加 --on-duplicate update 则更新。",
)


def _options(field: str, lang: str) -> list[str]:
    if field in ENUM_FIELDS:
        return [m.label(lang) for m in ENUM_FIELDS[field]]
    if field in LIST_FIELDS:
        return [m.label(lang) for m in LIST_FIELDS[field]]
    return list(YES_NO[lang]) if field in BOOL_FIELDS else []


def _example(field: str, lang: str) -> str | None:
    options = _options(field, lang)
    return max(options, key=len) if options else EXAMPLE.get(field)


def _hint(field: str, lang: str) -> str:
    options = _options(field, lang)
    if field in LIST_FIELDS:
        return "可多选，用“、”分隔：" + "、".join(options)
    if options:
        return "从下拉列表选择：" + "、".join(options)
    if field in DATE_FIELDS:
        return "日期，如 2021-03-05"
    if field in DIGIT_FIELDS:
        return "文本格式的数字"
    return ""


def export_template(path: Path, *, lang: str = "zh") -> None:
    """Write the blank roster template to ``path``."""
    headers = roster_headers(lang)
    with saving_workbook(path) as workbook:
        # Filled in on screen: each column as wide as what is typed, in the default font (11 pt). Its 18
        # columns do not fit one A4 page at a readable size (fitted, they printed at 6 pt), so on paper the
        # sheet runs as many landscape pages wide as its columns need at full size, the header row on each
        # page and the name column at the left of each, so a clerk can fill it in by hand too.
        widths = column_widths(headers, [[_example(f, lang) for f in ROSTER_FIELDS]], size=11, fit=False)
        roster = FormSheet(workbook, "志愿者名册" if lang == "zh" else "Volunteers", widths, frozen_rows=1)
        roster.ws.page_setup.fitToWidth = _pages_wide(widths)
        roster.ws.print_title_cols = "A:A"
        options = workbook.create_sheet(OPTIONS_SHEET)
        _prepare_columns(roster, options, lang)
        fonts = [REQUIRED_FONT if f in REQUIRED_FIELDS else HEADER_FONT for f in ROSTER_FIELDS]
        roster.header(headers, fonts=fonts)
        options.sheet_state = "hidden"
        _instructions(workbook, lang)


def _pages_wide(widths: list[float]) -> int:
    """Landscape A4 pages across that hold ``widths`` at full size, the name column repeated on each."""
    room = page_units(landscape=True) - widths[0]
    return max(1, math.ceil((sum(widths) - widths[0]) / room))


def _prepare_columns(roster: FormSheet, options_sheet: WriteOnlyWorksheet, lang: str) -> None:
    """Text and date formats per column, and a drop-down for each enumeration from the hidden options sheet."""
    lists: list[list[str]] = []
    for index, field in enumerate(ROSTER_FIELDS, start=1):
        letter = get_column_letter(index)
        if field in DIGIT_FIELDS:
            roster.ws.column_dimensions[letter].number_format = "@"
        elif field in DATE_FIELDS:
            roster.ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
        choices = _options(field, lang)
        if not choices:
            continue
        lists.append(choices)
        source = f"'{OPTIONS_SHEET}'!${get_column_letter(len(lists))}$1:${get_column_letter(len(lists))}${len(choices)}"
        # A multi-valued column (人才类别) gets the list as a suggestion, not as a rule that refuses "A、B".
        validation = DataValidation(type="list", formula1=source, allow_blank=True,
                                    showErrorMessage=field not in LIST_FIELDS, errorStyle="stop",
                                    error="请从下拉列表中选择", errorTitle=field_label(Volunteer, field, lang))
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        roster.ws.data_validations.append(validation)
    depth = max((len(c) for c in lists), default=0)
    for row in range(depth):
        options_sheet.append([c[row] if row < len(c) else None for c in lists])


def _instructions(workbook: Workbook, lang: str) -> None:
    headers = ["列名", "是否必填", "填写说明", "可用列名"]
    rows = [[field_label(Volunteer, f, lang), "必填" if f in REQUIRED_FIELDS else "选填", _hint(f, lang),
             "、".join(field_aliases(Volunteer, f))] for f in ROSTER_FIELDS]
    sheet = FormSheet(workbook, "填写说明", column_widths(headers, rows))
    sheet.title("志愿者名册填写说明")
    for note in GENERAL_NOTES:
        sheet.line(note)
    sheet.header(headers)
    sheet.data_rows(rows)
