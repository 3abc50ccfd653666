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
from stvs_tui.excel.sheet import (
    A4_POINTS,
    FormSheet,
    column_widths,
    saving_workbook,
    song,
    text_points,
)

# What a clerk commonly types in each column, to size it: an 18-digit ID shows whole, a longer unit name or a
# rarer, longer choice (港澳居民居住证) is cut on paper as Excel cuts it on screen, and imports whole.
TYPED = {"name": "欧阳晓明", "sex": "男", "birth_date": "1985-03-12", "id_type": "居民身份证",
         "id_number": "410522198503121234", "mobile": "13800001234", "phone2": "0372-5123456",
         "work_unit": "县人民医院", "title": "高级教师", "expertise": "果树栽培", "talent_tags": "乡土人才",
         "availability": "周末", "publicity_consent": "是", "stvs_status": "未注册", "stvs_registered_on": "2021-05-01",
         "status": "在册", "joined_on": "2021-04-01", "notes": "备注"}
# The data sheet on paper: A4 landscape, one page wide, the header row on every page, at no less than
# PRINTED_LEAST points. Typed cells take the workbook's default font, Calibri 11 (Carlito in LibreOffice: digits
# 0.507 em, a hyphen 0.306), Chinese in its stand-in at one em; the header is 宋体 11 bold, on up to two lines.
TYPED_SIZE, PRINTED_LEAST = 11.0, 9.0
LATIN_EM = {"-": 0.31, "/": 0.39, " ": 0.23}  # other Latin letters and digits: DIGIT_EM
DIGIT_EM = 0.51
# A width unit holds 7 px of text in Excel (Calibri 11's digit: 5.25 pt), 5.55 pt less about 3 in LibreOffice:
# measured against the narrower, with a little to spare (the export's wrapping columns use 6 pt: they wrap).
TYPED_POINTS_PER_UNIT, TYPED_PADDING = 5.25, 3.0
NARROW_MARGIN_IN = 0.25  # Excel's "narrow" side margins

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
    "8. 名册页按A4横向、一页宽打印（表头每页重复）；列宽按常见内容设定，较长的内容（如“港澳居民居住证”）打印时显示不全，"
    "不影响导入。",
)


def _options(field: str, lang: str) -> list[str]:
    if field in ENUM_FIELDS:
        return [m.label(lang) for m in ENUM_FIELDS[field]]
    if field in LIST_FIELDS:
        return [m.label(lang) for m in LIST_FIELDS[field]]
    return list(YES_NO[lang]) if field in BOOL_FIELDS else []


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
        widths = template_widths(lang)
        roster = FormSheet(workbook, "志愿者名册" if lang == "zh" else "Volunteers", widths, frozen_rows=1,
                           size=TYPED_SIZE)
        roster.ws.page_margins.left = roster.ws.page_margins.right = NARROW_MARGIN_IN
        roster.ws.oddFooter.center.size = TYPED_SIZE  # shrunk with the sheet, as the cells are
        across = pages_wide(widths)
        if across > 1:  # a template in English: its long headers need more
            roster.ws.page_setup.fitToWidth = across
            roster.ws.print_title_cols = "A:A"
        options = workbook.create_sheet(OPTIONS_SHEET)
        _prepare_columns(roster, options, lang)
        fonts = [REQUIRED_FONT if f in REQUIRED_FIELDS else song(TYPED_SIZE, True) for f in ROSTER_FIELDS]
        roster.header([_two_lines(h, w) for h, w in zip(headers, widths, strict=True)], fonts=fonts)
        options.sheet_state = "hidden"
        _instructions(workbook, lang)


def template_widths(lang: str = "zh") -> list[float]:
    """Each column as wide as what is commonly typed in it, or as half its header (which wraps to two lines)."""
    widths = []
    for field, header in zip(ROSTER_FIELDS, roster_headers(lang), strict=True):
        typed = TYPED[field]
        points = _latin_points(typed) if typed.isascii() else text_points(typed, TYPED_SIZE)
        if header.isascii():  # English: the longest word on a line
            header_points = max(_latin_points(word) for word in header.split()) * 1.1  # bold
        else:
            header_points = text_points(header[:math.ceil(len(header) / 2)], TYPED_SIZE)
        widths.append(math.ceil((max(points, header_points) + TYPED_PADDING) / TYPED_POINTS_PER_UNIT * 100) / 100)
    return widths


def _two_lines(header: str, width: float) -> str:
    """A Chinese header too long for its column's line, broken where a reader would: after a slash (职务/ 职称),
    else in the middle (同意公 开信息). Line breaks in a header are ignored when it is imported back."""
    if header.isascii() or text_points(header, TYPED_SIZE) + TYPED_PADDING <= width * TYPED_POINTS_PER_UNIT:
        return header
    cut = header.index("/") + 1 if "/" in header else math.ceil(len(header) / 2)
    return f"{header[:cut]}\n{header[cut:]}"


def _latin_points(text: str) -> float:
    return sum(LATIN_EM.get(char, DIGIT_EM) for char in text) * TYPED_SIZE


def pages_wide(widths: list[float]) -> int:
    """Landscape A4 pages across (within narrow side margins) that print ``widths`` at ``PRINTED_LEAST`` points
    or more: one for the Chinese template. A width unit is taken as 5.6 pt, the wider of Excel's and LibreOffice's."""
    room = A4_POINTS[1] - 2 * NARROW_MARGIN_IN * 72
    return max(1, math.ceil(sum(widths) * 5.6 * PRINTED_LEAST / TYPED_SIZE / room))


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
