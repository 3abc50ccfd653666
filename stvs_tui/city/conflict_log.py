"""The conflict log: one workbook, two sheets, 待处理 (the open queue) and 已处理 (the audit trail: who decided,
when, which values, the side taken, 处理方式: 服务器现值, 本次上传, 含输入值, 各取部分, 并入先登记…, and why),
printed on A4 like the city's other exports (``stvs_tui.excel.sheet``).

People are named with the ID number masked, counties and tables by name, never a UUID; each field's values
(an ID number masked) are one line of the row: 字段：服务器现值 → 本次上传 (采用 …). In Chinese, as filed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import stvs_tui.city.audit_words  # noqa: F401  (the words)
from schema.models import TABLE_MODELS, field_label, table_label
from stvs_tui.city.audit import decided_at, decided_by, decision_words, shown_value
from stvs_tui.excel.sheet import LIST_SIZE, FormSheet, chinese_date, column_widths, saving_workbook
from stvs_tui.i18n import CATALOGUE

CITY_UNIT = "安阳市科学技术协会"
SIGN_OFF = ("负责人", "填报人", "联系电话")
KINDS = {"field_conflict": "字段冲突", "delete_vs_edit": "删除与修改冲突", "edit_vs_delete": "修改与删除冲突",
         "duplicate_person": "跨县重复人员", "dissolved_team": "已撤销队伍的活动"}


def zh(key: str, **values: Any) -> str:
    text = CATALOGUE[key][0]
    return text.format(**values) if values else text


def _field(table: str, name: str) -> str:
    model = TABLE_MODELS.get(table)
    return field_label(model, name, "zh") if model and name in model.model_fields else name


def _sender(sender: Any) -> str:
    node = getattr(sender, "node_id", "") or ""
    if not node:
        return ""
    if node == "city":
        return zh("city.sender_city")
    device = " ".join(p for p in (zh("city.sender_device", node=node[-8:]), sender.device_label) if p)
    return " · ".join(p for p in (device, sender.token_label) if p)


def _values(item: Any, taken: bool) -> str:
    """Per field on its own line: base → the server's value | this upload's (→ the value taken)."""
    lines = []
    resolution = item.resolution or {}
    for name, sides in item.fields.items():
        line = (f"{_field(item.table, name)}：原值 {shown_value(name, sides.get('base'))}；"
                f"服务器现值 {shown_value(name, sides.get('server'))}；本次上传 {shown_value(name, sides.get('incoming'))}")
        if taken and name in resolution:
            line += f"；采用 {shown_value(name, resolution[name])}"
        lines.append(line)
    return "\n".join(lines)


def _common(item: Any) -> list[Any]:
    return [item.county_name or item.county_code, table_label(item.table, "zh"), item.subject or "（未命名）",
            KINDS.get(item.kind, item.kind)]


def open_rows(items: list[Any]) -> list[list[Any]]:
    return [[n, item.created_at[:16].replace("T", " "), *_common(item), _values(item, False),
             "\n".join(s for s in (_sender(item.server_sender), _sender(item.incoming_sender)) if s)]
            for n, item in enumerate(items, start=1)]


def resolved_rows(items: list[Any]) -> list[list[Any]]:
    return [[n, decided_at(item), decided_by(item), *_common(item), _values(item, True),
             zh(f"decision.{item.decision}") if f"decision.{item.decision}" in CATALOGUE else "-",
             decision_words(item, zh, _field), " ".join(str(item.reason).split())]
            for n, item in enumerate(items, start=1)]


def _sheet(workbook: Any, name: str, title: str, headers: list[str], rows: list[list[Any]], today: date,
           note: str) -> None:
    sheet = FormSheet(workbook, name, column_widths(headers, rows, size=LIST_SIZE), frozen_rows=4, size=LIST_SIZE)
    sheet.title(title)
    sheet.line(note)
    sheet.split_line(f"填报单位：{CITY_UNIT}", f"导出日期：{chinese_date(today)}")
    sheet.header(headers)
    sheet.data_rows(rows)
    sheet.line(f"共 {len(rows)} 项。身份证号已隐去中间数字。")
    sheet.sign_off(SIGN_OFF, (f"填报单位（盖章）：{CITY_UNIT}", f"填报日期：{chinese_date(today)}"))
    sheet.finish()


def export_conflict_log(open_items: list[Any], resolved_items: list[Any], path: Path, today: date) -> None:
    """Write the log: 待处理 oldest first, 已处理 latest decision first (as the server lists them)."""
    with saving_workbook(path) as workbook:
        _sheet(workbook, "待处理", "同步冲突待处理清单",
               ["序号", "发现时间", "县（市、区）", "表", "对象", "类型", "各方数值", "上传设备与人员"],
               open_rows(open_items), today, "服务器现值为先上传的数值，本次上传为后上传的数值。")
        _sheet(workbook, "已处理", "同步冲突处理记录",
               ["序号", "处理时间", "处理人", "县（市、区）", "表", "对象", "类型", "各方数值与采用值", "处理方式", "处理结果",
                "理由"],
               resolved_rows(resolved_items), today, "每项处理均记录处理人、时间、采用的数值和理由。")
