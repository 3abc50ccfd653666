"""The words of the city TUI's audit trail, search, per-county summary and conflict log, added to the one
catalogue (``stvs_tui.i18n.CATALOGUE``) on import: kept here so that they are read beside the screens using them."""

from __future__ import annotations

from stvs_tui.i18n import CATALOGUE

WORDS: dict[str, tuple[str, str]] = {
    "city.tab_resolved": ("已处理", "Resolved"),
    "city.tab_counties": ("各县概况", "Counties"),
    "city.show_resolved": ("已处理（审计记录）", "Resolved items (audit trail)"),
    "city.show_counties": ("各县概况", "Counties at a glance"),
    "city.export_log": ("导出冲突记录", "Export the conflict log"),
    "city.export_log_title": ("导出冲突记录（待处理和已处理）：文件路径（.xlsx）",
                              "Export the conflict log (open and resolved): file (.xlsx)"),
    "city.search": ("搜索：姓名、身份证号、手机号", "Search: name, ID number, mobile"),
    "city.filter_days": ("处理日期", "Decided"),
    "city.filter_from": ("自 YYYY-MM-DD", "from YYYY-MM-DD"),
    "city.filter_to": ("至 YYYY-MM-DD", "until YYYY-MM-DD"),
    "city.col_decided_at": ("处理时间", "Decided"),
    "city.col_decided_by": ("处理人", "By"),
    "city.col_decision": ("处理结果", "Decision"),
    "city.col_why": ("理由", "Reason"),
    "city.col_taken": ("采用结果", "Result"),
    "city.col_sender": ("上传人", "Sent by"),
    "city.col_open": ("待处理", "Open"),
    "city.col_last_upload": ("最近上传", "Last upload"),
    "city.col_last_report": ("最近月报", "Last report"),
    "city.col_upload_chart": ("上传（近{months}月）", "Uploads ({months} months)"),
    "city.col_conflict_chart": ("冲突（近{months}月）", "Conflicts ({months} months)"),
    "city.chart_months": ("图表月份：{first} 至 {last}，每格一个月，柱高按该列最大值",
                          "Charts: {first} to {last}, one mark a month, scaled to the column's highest month"),
    "city.decided_line": ("{by} 于 {when} 处理；理由：{reason}", "Decided by {by} on {when}; reason: {reason}"),
    "city.decision_value": ("输入值", "typed value"),
    "city.decision_keep_both": ("保留两条", "kept both"),
    "city.decision_merge_first": ("合并到先登记", "merged into the first"),
    "city.decision_merge_later": ("合并到后登记", "merged into the later"),
    "city.resolved_page": ("已处理 {first}–{last} 项，共 {total} 项", "Resolved {first}–{last} of {total}"),
    "city.no_resolved": ("没有符合条件的已处理事项", "No resolved items match"),
    "city.sender_city": ("市科协", "the city"),
    "city.sender_device": ("设备 {node}", "device {node}"),
    "city.help_resolved": ("已处理（审计记录）：谁在何时如何处理、理由；按县区、处理方式（服务器现值、本次上传、含输入值……）、"
                           "表、类型、处理日期和搜索词筛选；光标所在一项的逐字段数值显示在下方。"
                           "Ctrl+E 导出冲突记录（待处理和已处理两张表）。",
                           "Resolved items (the audit trail): who decided, when, which values and why; filter by "
                           "county, the side taken (server's value, this upload, a typed value…), table, kind, the "
                           "days of the decision and search words; the highlighted item's fields are shown below. "
                           "Ctrl+E exports the conflict log (open and resolved sheets)."),
    "city.help_counties": ("各县概况：待处理冲突、最近上传、最近收到的月报，以及近几个月每月上传和冲突次数的小图。",
                           "Counties at a glance: open conflicts, last upload, last report received, and small "
                           "charts of uploads and conflicts per month over the last months."),
    "city.bad_filter_date": ("处理日期应为 YYYY-MM-DD", "The decision day must be YYYY-MM-DD"),
    # Which side a resolved item took (sync.admin_protocol.DECISIONS): the filter's choices and the log's column.
    "city.decision_all": ("全部处理方式", "Any decision"),
    "decision.city": ("服务器现值", "Server's value"),
    "decision.county": ("本次上传", "This upload"),
    "decision.value": ("含输入值", "Typed value"),
    "decision.mixed": ("各取部分", "Some of each"),
    "decision.merge_first": ("并入先登记", "Merged: first"),
    "decision.merge_later": ("并入后登记", "Merged: later"),
    "decision.keep_both": ("保留两条", "Kept both"),
}


def _register() -> None:
    clash = set(WORDS) & set(CATALOGUE)
    for key in clash:  # the same key twice would be one text silently winning over another
        if CATALOGUE[key] != WORDS[key]:
            raise RuntimeError(f"catalogue key {key} defined twice")
    CATALOGUE.update(WORDS)


_register()
