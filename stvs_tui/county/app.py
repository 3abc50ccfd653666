"""The county TUI: a clerk's daily work over the local store, keyboard first, offline.

``CountyApp`` opens on the first-run setup when the store has no county yet, otherwise on the dashboard.
Areas (volunteers, teams, ...) are pushed over the dashboard by name; other parts of the product add
their own with ``register_area`` and an ``ActionSpec`` whose action is ``go('name')``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

import stvs_tui.county.screens.excel_import  # noqa: F401  (registers the Excel area's keys before the app installs them)
from schema.models import Region
from schema.store import Store, open_store
from stvs_tui.actions import install_bindings
from stvs_tui.failures import storage_failure
from stvs_tui.i18n import LANGUAGES, t, use_language
from stvs_tui.logs import LOGGER, start_log
from stvs_tui.paths import AppPaths
from stvs_tui.regions import ensure_regions
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.help import RegistryApp, localize_textual_bindings
from sync.gctune import freeze_settled_heap

T = TypeVar("T")
# The dashboard's figures read as the TUI starts (``stvs_tui.county.start``): county code, period, and what to call
# for them (it waits for them, and raises what reading them raised).
FirstFigures = tuple[str, str, Callable[[], Any]]
AreaFactory = Callable[[], Screen[Any]]

AREAS: dict[str, AreaFactory] = {}


def register_area(name: str, factory: AreaFactory) -> None:
    """Make ``go('name')`` open the screen ``factory`` builds."""
    AREAS[name] = factory


class LazyArea:
    """A built-in area whose screen module is imported when the area first opens, not as the TUI starts
    (the first screen needs only the dashboard; Excel, sync and the lists bring their own libraries)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def screen_class(self) -> type[Screen[Any]]:
        return getattr(importlib.import_module(f"stvs_tui.county.screens.{self.module}"), self.name)

    def __call__(self) -> Screen[Any]:
        return self.screen_class()()


BUILTIN_AREAS = {
    "dashboard": ("dashboard", "DashboardScreen"), "volunteers": ("volunteers", "VolunteersScreen"),
    "teams": ("teams", "TeamsScreen"), "activities": ("activities", "ActivitiesScreen"),
    "demands": ("demands", "DemandsScreen"), "report": ("report", "MonthlyReportScreen"),
    "settings": ("settings", "SettingsScreen"), "sync": ("sync", "SyncScreen"), "excel": ("excel_import", "ExcelScreen"),
}


def _register_builtin_areas() -> None:
    for name, (module, screen) in BUILTIN_AREAS.items():
        AREAS.setdefault(name, LazyArea(module, screen))


class CountyApp(RegistryApp):
    CSS_PATH = "../county.tcss"
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, store: Store, *, lang: str = "zh", today: date | None = None,
                 demo_volunteers: int = 300, freeze_heap: bool = False) -> None:
        use_language(lang)
        super().__init__()
        install_bindings(self, ["app"])
        self.store = store
        self.lang = lang
        # Injected so that snapshots and tests never depend on the clock.
        self.today = today or date.today()
        self.demo_volunteers = demo_volunteers
        self.title = t("app.title")
        self.county_code = store.county_code
        self.county_name = self.region_name(self.county_code)
        # ``stvs-tui`` (county_app_for) settles the heap; an app made in a process that runs many of them one
        # after another (tests) does not, as each would freeze the last one's garbage for good.
        self.heap_settled = not freeze_heap
        self.first_figures: FirstFigures | None = None
        _register_builtin_areas()

    def take_first_figures(self, county: str, period: str) -> Callable[[], Any] | None:
        """The dashboard's figures read as the app started (once), when they are the ones asked for."""
        first, self.first_figures = self.first_figures, None
        if first is None or first[:2] != (county, period):
            return None
        return first[2]

    def region_name(self, code: str) -> str:
        if not code:
            return ""
        with self.store.session() as session:
            region = session.get(Region, code)
            return region.name if region else code

    @property
    def clerk(self) -> str:
        return self.store.setting("clerk")

    def on_mount(self) -> None:
        if self.county_code:
            self.push_screen(AREAS["dashboard"]())
        else:
            from stvs_tui.county.screens.setup import SetupScreen

            self.push_screen(SetupScreen())

    def county_chosen(self, code: str) -> None:
        """The first-run setup is done: open the dashboard of that county."""
        self.county_code = code
        self.county_name = self.region_name(code)
        self.switch_screen(AREAS["dashboard"]())

    # Screens kept built after they close (a form reset for each open: building one is most of its opening time).
    def kept_screen(self, name: str) -> Screen[Any] | None:
        """The screen kept as ``name`` by ``keep_screen``, None when there is none."""
        screen = self._installed_screens.get(f"kept:{name}")
        return screen if isinstance(screen, Screen) else None

    def keep_screen(self, name: str, screen: Screen[Any]) -> None:
        """Keep ``screen`` built when it closes, in place of the one kept as ``name`` (unless that is still open)."""
        old = self.kept_screen(name)
        if old is not None:
            if any(old in stack for stack in self._screen_stacks.values()):
                return
            self.drop_kept_screens(name)
        self.install_screen(screen, f"kept:{name}")

    def prepare_screen(self, screen: Screen[Any]) -> None:
        """Build a screen's widgets now (composed and styled, not shown), so that its first open is as quick as
        the next ones. Textual's own first step of ``push_screen`` (Textual is pinned to 8.2)."""
        if screen.is_running:
            return
        self._load_screen_css(screen)
        self._get_screen(screen)

    def drop_kept_screens(self, *names: str) -> None:
        """Forget kept screens (those named, else all that are closed): a language switch rebuilds them."""
        kept = [key for key in self._installed_screens if key.startswith("kept:")]
        for key in kept if not names else [f"kept:{name}" for name in names]:
            screen = self._installed_screens.get(key)
            if not isinstance(screen, Screen) or any(screen in stack for stack in self._screen_stacks.values()):
                continue
            self.uninstall_screen(key)
            if screen.is_attached:
                screen.remove()

    def switch_language(self, lang: str) -> None:
        """Redraw the TUI in another language: screens are rebuilt so every label and key is re-read."""
        self.drop_kept_screens()
        use_language(lang)
        self.lang = lang
        localize_textual_bindings()
        install_bindings(self, ["app"])
        self.title = t("app.title")
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(AREAS["dashboard"]())
        self.push_screen(AREAS["settings"]())

    # Leaving: typed input is never dropped without asking (the answer under the cursor is 否).
    def has_unsaved_input(self) -> bool:
        return any(getattr(screen, "has_unsaved_input", lambda: False)() for screen in self.screen_stack)

    def leave_then(self, leave: Callable[[], Any], question: str = "confirm.leave_unsaved") -> None:
        """Run ``leave`` (quit, switch area) now, or after a yes when it would drop unsaved input."""
        if isinstance(self.screen, ConfirmModal):
            return  # already asking
        if not self.has_unsaved_input():
            leave()
            return
        self.push_screen(ConfirmModal(t(question)), lambda yes: leave() if yes else None)

    async def action_quit(self) -> None:
        self.leave_then(self.exit, "confirm.quit_unsaved")

    # Navigation: areas sit on the dashboard; Esc goes back one screen but never past the dashboard.
    def action_go(self, name: str) -> None:
        if not self.county_code or name not in AREAS:
            return
        self.leave_then(lambda: self._show_area(AREAS[name]() if name != "dashboard" else None))

    def open_area(self, screen: Screen[Any]) -> None:
        """Open an area screen built with arguments (a filtered list) straight over the dashboard."""
        if not self.county_code:
            return
        self.leave_then(lambda: self._show_area(screen))

    def _show_area(self, screen: Screen[Any] | None) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if screen is not None:
            self.push_screen(screen)

    def open_screen(self, screen: Screen[Any]) -> None:
        """Push a screen over the current one (details, previews): Esc comes back here."""
        self.push_screen(screen)

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def action_help_quit(self) -> None:
        self.notify(t("app.quit_hint", key="Ctrl+Q"), title=t("app.quit_hint_title"))

    def settle_heap(self) -> None:
        """Once the first screen shows its data, collect and then freeze every object alive (modules, Textual,
        the store's metadata, that screen) out of the cyclic collector's reach.

        Measured at 100k volunteers: a full collection walked some 260,000 long-lived objects for 130–160 ms,
        and landed inside a filter keystroke now and then (worst keystroke 190–220 ms against a 50 ms median).
        Frozen objects are still freed by reference counting; only cycles among them are never reclaimed.
        """
        if self.heap_settled:
            return
        self.heap_settled = True
        freeze_settled_heap()

    def run_db(self, node: DOMNode, job: Callable[[Session], T], done: Callable[[T], Any] | None = None, *,
               group: str = "load", exclusive: bool = True) -> Worker[None]:
        """Run ``job(session)`` in a thread; ``done(result)`` runs on the UI thread unless superseded."""
        store = self.store

        def deliver(worker: Worker[None], result: T) -> None:
            # Asked again on the UI thread: a newer load of the group may have started (and cancelled this one)
            # between the worker's own check and now, and a stale result would then undo the newer one's
            # choices (a restored team's cursor went to the first team under load).
            if not worker.is_cancelled:
                done(result)  # type: ignore[misc]

        def work() -> None:
            worker = get_current_worker()
            try:
                with store.session() as session:
                    result = job(session)
            except Exception as exc:  # a failed query must reach the clerk, not kill the app
                if worker.is_cancelled and "interrupted" in str(exc):
                    return  # superseded, and its statement stopped on purpose (a list's newer keystroke)
                logging.getLogger(LOGGER).exception("database work failed")
                # A database's own refusal (a trigger's message) is the sentence, without the SQL around it.
                error = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
                machine = storage_failure(exc)  # a full disk: say so, and that nothing was saved
                if machine is not None:
                    error = f"{store.path}: {machine[0]} {t('app.not_saved')}"
                if not worker.is_cancelled:
                    self.call_from_thread(self.notify, t("app.error", error=error), severity="error", markup=False)
                return
            if done is not None and not worker.is_cancelled:
                self.call_from_thread(deliver, worker, result)
                if not self.heap_settled:
                    self.call_from_thread(self.call_after_refresh, self.settle_heap)

        return node.run_worker(work, thread=True, group=group, exclusive=exclusive, exit_on_error=False)


def startup_language(store: Store, flag: str | None) -> str:
    """``--lang`` when given, else the language saved in Settings, else Chinese."""
    from stvs_tui.county.screens.settings import LANGUAGE

    saved = store.setting(LANGUAGE)
    return flag or (saved if saved in LANGUAGES else "zh")


def county_app_for(paths: AppPaths, lang: str | None, *, store: Store | None = None,
                   first_figures: FirstFigures | None = None) -> CountyApp:
    """The county TUI on the store at ``paths.store`` (opened here unless given), its log started in
    ``paths.logs`` (the caller closes ``app.store``); ``first_figures``: see ``stvs_tui.county.start``."""
    if store is None:
        store = open_store(paths.store)  # first: a folder or file it cannot use is named in one line
    try:
        start_log(paths.logs)
        ensure_regions(store)
        logging.getLogger(LOGGER).info("county TUI opened on %s", paths.store)
        app = CountyApp(store, lang=startup_language(store, lang), freeze_heap=True)
        app.first_figures = first_figures
        return app
    except BaseException:
        store.close()
        raise
