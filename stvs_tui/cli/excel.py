"""``stvs-tui import volunteers`` and ``stvs-tui export KIND``: the command-line face of ``stvs_tui.excel``.

Exit codes: 0 done, 1 failed (every import problem listed as row/column/reason, then a one-line reason),
2 usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from schema.paths import os_reason
from schema.store import Store
from stvs_tui.cli.params import PeriodType
from stvs_tui.excel import (
    ExcelError,
    ImportPlan,
    apply_import,
    export_activities,
    export_certificate,
    export_hours,
    export_monthly,
    export_roster,
    export_teams,
    export_template,
    plan_import,
)

EXPORT_KINDS = ("teams", "monthly", "roster", "activities", "hours", "template", "certificate")


@contextmanager
def progress_display(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr for long files (only on a terminal: scripts get clean output)."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int | None) -> None:
        if not sys.stderr.isatty():
            return
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=max(total or done, done), label=label, file=sys.stderr)
            state["bar"].__enter__()
        bar = state["bar"]
        bar.length = max(bar.length or 0, done)
        bar.update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


@click.group("import")
def import_group() -> None:
    """Import records from a workbook.

    \b
    Example:
      stvs-tui import volunteers 名册.xlsx --dry-run
    """


@import_group.command("volunteers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would happen; write nothing.")
@click.option("--valid-only", is_flag=True, help="Import the valid rows even if other rows have problems.")
@click.option("--on-duplicate", type=click.Choice(["skip", "update"]), default="skip", show_default=True,
              help="A volunteer already in the store (same ID number, or same name and mobile): skip or update.")
@click.option("--sheet", default=None, help="Read this sheet (default: the first sheet with a roster header).")
@click.option("--include-hidden", is_flag=True, help="Import hidden rows too (by default they are listed and left out).")
@click.pass_obj
def import_volunteers(app: Any, file: Path, dry_run: bool, valid_only: bool, on_duplicate: str,
                      sheet: str | None, include_hidden: bool) -> None:
    """Import a volunteer roster (.xlsx); every problem is listed as row, column and reason.

    The header row is found among the first 30 rows; columns are matched by their usual Chinese and
    English names (姓名/名字, 证件号码/身份证号, 手机号码/手机/联系电话, 工作单位/单位, …). By default
    nothing is imported if any row has a problem. `stvs-tui export template` writes a blank roster.
    Hidden rows are left out (and listed) unless --include-hidden; a hidden column never wins over a
    visible one for the same field; a 合计 row or a 填表人 sign-off under the table is skipped.

    \b
    Examples:
      stvs-tui import volunteers 名册.xlsx --dry-run
      stvs-tui import volunteers 名册.xlsx --valid-only --on-duplicate update
    """
    store = app.open_initialised_store()
    try:
        plan = _plan(store, file, on_duplicate, sheet, include_hidden)
        _report_problems(plan, app.lang)
        click.echo(plan.summary(app.lang))
        if plan.ignored_headers:
            click.echo(f"未识别、已忽略的列 (columns ignored)：{'、'.join(plan.ignored_headers)}", err=True)
        if plan.problems and not valid_only:
            raise click.ClickException(
                f"有{len(plan.problems)}个问题，未导入任何数据；改正后重试，或加 --valid-only 只导入有效行 "
                f"({len(plan.problems)} problem{'s' if len(plan.problems) != 1 else ''}: nothing imported; fix them, or use --valid-only)")
        if dry_run:
            click.echo("仅检查，未写入 (dry run: nothing written)")
            return
        result = _apply(store, plan, valid_only)
        click.echo(result.summary(app.lang))
    finally:
        store.close()


def _plan(store: Store, file: Path, on_duplicate: str, sheet: str | None, include_hidden: bool) -> ImportPlan:
    try:
        with progress_display("检查 (checking)") as progress:
            return plan_import(file, store, on_duplicate=on_duplicate, sheet=sheet,  # type: ignore[arg-type]
                               progress=progress, include_hidden=include_hidden)
    except ExcelError as exc:
        raise click.ClickException(str(exc)) from None


def _apply(store: Store, plan: ImportPlan, valid_only: bool) -> Any:
    try:
        return apply_import(store, plan, valid_only=valid_only)
    except ExcelError as exc:
        raise click.ClickException(str(exc)) from None


def _report_problems(plan: ImportPlan, lang: str) -> None:
    for note in plan.notes:
        click.echo(note.describe(lang), err=True)
    for problem in plan.problems:
        click.echo(problem.describe(lang), err=True)


@click.command("export")
@click.argument("kind", type=click.Choice(EXPORT_KINDS))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .xlsx file to write (replaced if it exists).")
@click.option("--month", default=None, type=PeriodType(),
              help="Period: a month (YYYY-MM) or a year (YYYY). monthly: default this month; "
                   "activities, hours, certificate: default all time.")
@click.option("--unmasked", is_flag=True, help="roster, certificate: full ID numbers instead of 410522********1234.")
@click.option("--volunteer", default=None, metavar="ID",
              help="certificate: the volunteer's record id or ID number.")
@click.pass_obj
def export_command(app: Any, kind: str, output: Path, month: str | None, unmasked: bool,
                   volunteer: str | None) -> None:
    """Write an official form or a list as .xlsx.

    \b
    KIND is one of:
      teams        附件2 科技志愿服务队基本情况表 (teams of the county)
      monthly      科技志愿服务活动月报表 for --month (default: this month)
      roster       志愿者名册, ID numbers masked unless --unmasked
      activities   活动台账 for --month (a month or a year; default all)
      hours        服务时长公示名单 for --month
      template     a blank roster to fill in and import
      certificate  志愿服务记录证明 of --volunteer
    \b
    Examples:
      stvs-tui export teams -o 附件2.xlsx
      stvs-tui export monthly --month 2026-05 -o 月报-2026-05.xlsx
      stvs-tui export certificate --volunteer 11010519491231002X -o 证明.xlsx
    """
    _check_export_options(kind, output, unmasked, volunteer, month)
    if kind == "template":
        _run_export(lambda: export_template(output, lang=app.lang), output, None)
        return
    store = app.open_initialised_store()
    try:
        _run_export(_exporter(store, kind, output, month, unmasked, volunteer, app.lang), output, kind)
    finally:
        store.close()


def _check_export_options(kind: str, output: Path, unmasked: bool, volunteer: str | None, month: str | None) -> None:
    if output.suffix.lower() != ".xlsx":
        raise click.BadParameter("the output file must end in .xlsx", param_hint="-o")
    if kind == "certificate" and not volunteer:
        raise click.UsageError("export certificate needs --volunteer ID (record id or ID number)")
    if volunteer and kind != "certificate":
        raise click.UsageError("--volunteer applies to the certificate only")
    if unmasked and kind not in ("roster", "certificate"):
        raise click.UsageError("--unmasked applies to roster and certificate only")
    if month and kind in ("teams", "roster", "template"):
        raise click.UsageError(f"--month does not apply to {kind}")
    if month and kind == "monthly" and len(month) == 4:
        raise click.BadParameter(f"月报须指定月份YYYY-MM，而不是“{month}” (the monthly report needs a month YYYY-MM)",
                                 param_hint="--month")


def _exporter(store: Store, kind: str, output: Path, month: str | None, unmasked: bool, volunteer: str | None,
              lang: str) -> Callable[[], Any]:
    if kind == "roster":
        def roster() -> int:
            with progress_display("导出 (exporting)") as progress:
                return export_roster(store, output, unmasked=unmasked, lang=lang,
                                     progress=lambda done: progress(done, None))
        return roster
    return {
        "teams": lambda: export_teams(store, output),
        "monthly": lambda: export_monthly(store, output, period=month),
        "activities": lambda: export_activities(store, output, period=month),
        "hours": lambda: export_hours(store, output, period=month),
        "certificate": lambda: export_certificate(store, output, volunteer or "", period=month, unmasked=unmasked),
    }[kind]


def _run_export(run: Callable[[], Any], output: Path, kind: str | None) -> None:
    try:
        count = run()
    except ExcelError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{output}: 无法写入 (cannot write the file): {os_reason(exc)}") from None
    what = {"roster": "名志愿者", "teams": "支队伍", "activities": "次活动", "hours": "名志愿者",
            "certificate": "小时"}.get(kind or "")
    detail = f"（{count:g}{what}）" if what and count is not None else ""
    click.echo(f"已导出{detail}：{output}")
