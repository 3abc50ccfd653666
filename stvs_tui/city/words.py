"""The city TUI's own words and keys, added to the one catalogue and the one action registry on import.

They live in a module of the city TUI (as the Excel area's do) so that edits to the county TUI's
``stvs_tui.i18n`` and ``stvs_tui.actions`` never collide with the city's. Scopes: ``city`` works on every
city screen (help, commands, quit); ``city.main`` is the tabs; ``city.item`` one queue item; ``city.form``
the small modals (reason, period lock, export path).
"""

from __future__ import annotations

from stvs_tui.actions import ActionSpec, register
from stvs_tui.i18n import CATALOGUE

WORDS: dict[str, tuple[str, str]] = {
    "city.title": ("市科协管理", "City admin"),
    "city.kind_all": ("全部类型", "All kinds"),
    "city.page": ("第 {first}–{last} 项，共 {total} 项", "Items {first}–{last} of {total}"),
    "city.export_title": ("导出市级报表：文件路径（.xlsx）", "Export the city reports: file (.xlsx)"),
    "city.no_folder": ("文件夹不存在：{folder}", "No such folder: {folder}"),
    "city.upload_title": ("上传 {batch} 的逐条结果", "Per-record report of upload {batch}"),
    "city.help_queue": ("冲突队列：按县区、表、类型筛选；回车打开一项逐字段处理；空格选择，Ctrl+K/Ctrl+J "
                        "批量采用县级/市级数值（须填理由并确认）。光标移过本页末尾时自动载入下一页。",
                        "Conflict queue: filter by county, table and kind; Enter opens an item to decide per field; "
                        "Space selects, Ctrl+K / Ctrl+J take the county's / the city's values for the selection "
                        "(a reason and a confirmation are asked). Moving past the page's end loads the next page."),
    "city.help_uploads": ("上传记录：每次同步和导入的同步包，回车查看逐条结果。",
                          "Uploads: every sync and imported bundle; Enter shows its per-record report."),
    "city.help_reports": ("市级报表：各县区逐月月报（√ 按时、逾期、未报、待报），完整率与及时率按服务器收到时间计算；"
                          "Ctrl+L 对光标所在县区和月份锁定或重开，Ctrl+E 导出Excel。",
                          "City reports: each county's monthly reports (√ on time, late, missing, pending); "
                          "completeness and timeliness count by the time the server received a report. Ctrl+L "
                          "locks or reopens the county and month under the cursor, Ctrl+E exports to Excel."),
    "city.help_item": ("逐字段选择：空格在 市级 → 县级 → 输入值 之间切换；在下方输入框为当前字段输入新值后回车；"
                       "填写理由后 Ctrl+S 保存。",
                       "Per field: Space switches city → county → typed value; type a value for the current "
                       "field below and press Enter; give a reason, then Ctrl+S saves."),
    "city.help_form": ("填写后回车或 Ctrl+S 确定，Esc 取消。", "Enter or Ctrl+S confirms, Esc cancels."),
}

ACTION_SPECS = (
    ActionSpec("city.help", "f1", "help", "action.help", "city", priority=True),
    ActionSpec("city.palette", "ctrl+p", "command_palette", "action.palette", "city", show=False, priority=True,
               palette=False),
    ActionSpec("city.quit", "ctrl+q", "quit", "action.quit", "city", priority=True),
    ActionSpec("city.refresh", "ctrl+r", "refresh", "action.refresh", "city.main"),
    ActionSpec("city.open", "enter", "open_item", "action.open", "city.main", show=False),
    ActionSpec("city.filter", "slash,ctrl+f", "focus_filter", "action.filter", "city.main"),
    ActionSpec("city.select", "space", "toggle_select", "city.select", "city.main"),
    ActionSpec("city.bulk_county", "ctrl+k", "bulk('county')", "city.bulk_county", "city.main", priority=True),
    ActionSpec("city.bulk_city", "ctrl+j", "bulk('city')", "city.bulk_city", "city.main", priority=True),
    ActionSpec("city.export", "ctrl+e", "export", "city.export", "city.main", priority=True),
    ActionSpec("city.lock", "ctrl+l", "lock", "city.lock", "city.main", priority=True),
    ActionSpec("city.item.cycle", "space", "cycle", "city.cycle", "city.item"),
    ActionSpec("city.item.save", "ctrl+s", "save", "action.save", "city.item", priority=True),
    ActionSpec("city.item.back", "escape", "back", "action.back", "city.item"),
    ActionSpec("city.form.save", "ctrl+s", "save", "action.save", "city.form", priority=True),
    ActionSpec("city.form.back", "escape", "back", "action.back", "city.form"),
)


def _register() -> None:
    clashes = WORDS.keys() & CATALOGUE.keys()
    if clashes:
        raise RuntimeError(f"catalogue keys defined twice: {sorted(clashes)}")
    CATALOGUE.update(WORDS)
    for spec in ACTION_SPECS:
        register(spec)


_register()
