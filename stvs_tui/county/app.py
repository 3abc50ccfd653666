"""The county TUI: a clerk's daily work over the local store, keyboard first, offline.

``CountyApp`` opens on the first-run setup when the store has no county yet, otherwise on the dashboard.
Areas (volunteers, teams, ...) are pushed over the dashboard by name; other parts of the product add
their own with ``register_area`` and an ``ActionSpec`` whose action is ``go('name')``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import sys
import threading
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

import stvs_tui.county.excel_keys  # noqa: F401  (registers the Excel area's keys before the app installs them)
from stvs_tui.actions import install_bindings
from stvs_tui.county.opening import StoreOpening
from stvs_tui.failures import storage_failure
from stvs_tui.i18n import LANGUAGES, t, use_language
from stvs_tui.logs import LOGGER, start_log
from stvs_tui.paths import AppPaths
from stvs_tui.widgets.confirm import ConfirmModal
from stvs_tui.widgets.help import RegistryApp, localize_textual_bindings
from sync.gctune import freeze_settled_heap

# Nothing here imports SQLAlchemy or the models as the TUI starts (tests/test_layering.py holds it): its first
# screen shows before them, and the store opens after it (``StoreOpening``).
if TYPE_CHECKING:
    from concurrent.futures import Future

    from sqlmodel import Session

    from schema.store import Store
    from schema.storefile import PlainStore

T = TypeVar("T")
# The dashboard's figures read as the TUI starts (``stvs_tui.county.start``): county code, period, and the future
# being read (its result: the figures, or what reading them raised).
FirstFigures = tuple[str, str, "Future[Any]"]
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

    def __init__(self, store: Store | StoreOpening, *, lang: str = "zh", today: date | None = None,
                 demo_volunteers: int = 300, freeze_heap: bool = False) -> None:
        """``store``: an open store, or one opening after the first screen (``stvs-tui``: see ``StoreOpening``)."""
        use_language(lang)
        super().__init__()
        install_bindings(self, ["app"])
        self._store: Store | None = None
        self.opening: StoreOpening | None = None
        self.store_error: BaseException | None = None  # what opening the store raised (the app then stops)
        self.lang = lang
        # Injected so that snapshots and tests never depend on the clock.
        self.today = today or date.today()
        self.demo_volunteers = demo_volunteers
        self.title = t("app.title")
        if isinstance(store, StoreOpening):
            self.opening = store
            self.county_code = store.plain.county_code
            self.county_name = store.plain.county_name
        else:
            self._store = store
            self.county_code = store.county_code
            self.county_name = self.region_name(self.county_code)
        self.first_data_shown = False
        self.repair_generation = 0  # see check_stored_values
        self.stored_values_checked = False
        # Input that came while the store was still opening, handed on once it is open (see on_event).
        self.held_input: list[events.Event] = []
        self._replaying = False  # a key in flight, or held input being handed on (by ``_replayer``)
        self._replayer: Worker[None] | None = None
        self._opening_watched = False
        # ``stvs-tui`` (county_app_for) settles the heap; an app made in a process that runs many of them one
        # after another (tests) does not, as each would freeze the last one's garbage for good.
        self.heap_settled = not freeze_heap
        self.first_figures: FirstFigures | None = None
        _register_builtin_areas()

    def take_first_figures(self, county: str, period: str) -> Future[Any] | None:
        """The dashboard's figures read as the app started (once), when they are the ones asked for."""
        first, self.first_figures = self.first_figures, None
        if first is None or first[:2] != (county, period):
            return None
        return first[2]

    @property
    def store(self) -> Store:
        """The open store; while it is still opening (the first moments of ``stvs-tui``) this waits for it."""
        if self._store is None:
            assert self.opening is not None
            self._store = self.opening.result()
        return self._store

    @property
    def store_ready(self) -> bool:
        return self._store is not None or self.opening is None or self.opening.ready

    def first_figures_drawn(self) -> None:
        """The first screen has put its figures on the screen itself (read as the app started): once drawn, what
        follows the first data shown follows (the store opens, the heap settles)."""
        if not self.first_data_shown:
            self.call_after_refresh(self._first_data_shown)

    def _first_data_shown(self) -> None:
        """The first screen shows its data: now the store opens (when it is still to), then the heap settles."""
        self.first_data_shown = True
        self._open_store_now()
        self.settle_heap()
        self._first_check()

    def _open_store_now(self) -> None:
        """Start opening the store (once), and hear when it is open."""
        if self.opening is None or self._opening_watched:
            return
        self._opening_watched = True

        def opened(_future: object) -> None:
            if threading.get_ident() == self._thread_id:  # it was open already: called here, at once
                self.call_later(self._store_opened)
                return
            with contextlib.suppress(RuntimeError):  # the app has stopped already (quit while it was opening)
                self.call_from_thread(self._store_opened)

        self.opening.start(opened)

    def _store_opened(self) -> None:
        assert self.opening is not None
        try:
            self._store = self.opening.result()
        except Exception as exc:  # said in one line by the command line once the app has stopped
            self.store_error = exc
            logging.getLogger(LOGGER).error("the store did not open: %s", exc)
            self.held_input.clear()
            self.exit(return_code=1)
            return
        if self.held_input and not self._replaying:
            self._replay_later()
        self.settle_heap()
        self._first_check()

    # Keys (and clicks, pastes) wait while the store is still opening: every area reads the store, and a key
    # handled at once would block the screen or reach a screen that is about to be covered. They wait too while
    # the key before is in flight: Textual hands a key to the focused widget's queue, and a binding it reaches
    # there (F3: open the volunteers) runs only when that widget takes it, so keys typed at once would reach the
    # old screen's focus and be lost. A key is in flight from the moment it is handed on until the screen and
    # its widgets have handled it and what it caused (a screen pushed, a focus moved); the keys held meanwhile
    # are handed on one by one, each once the one before has settled (as if typed after the area showed).
    HELD_EVENTS = (events.Key, events.Paste, events.MouseDown, events.MouseUp)
    # Workers (``run_db``'s group) whose result opens a screen: a form once its choices or its record are read. A
    # key that starts one stays in flight until it has ended, so the keys after it reach that form.
    SCREEN_OPENING_GROUPS = frozenset({"form", "edit"})

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, self.HELD_EVENTS) or event.is_forwarded:
            await super().on_event(event)
        elif self._replaying or self.held_input or not self.store_ready:
            self.held_input.append(event)
            self._open_store_now()
            if self._replaying and (self._replayer is None or self._replayer.is_cancelled or self._replayer.is_finished):
                self._replaying = False  # its worker was cancelled before it ran (it never will)
            if not self._replaying and self.store_ready and not self._exit:
                self._replay_later()  # held behind input whose worker was stopped: hand it on now
        else:
            self._replaying = True  # in flight: the next ones wait for it
            try:
                await super().on_event(event)
            finally:
                self._replay_later(settle_first=True)

    def _replay_later(self, *, settle_first: bool = False) -> None:
        """Hand on the held input in a worker (the app's own queue must stay free to take what a key causes)."""
        self._replaying = True
        try:
            self._replayer = self.run_worker(partial(self._replay_held_input, settle_first), group="held-input",
                                             exclusive=False)
        except Exception:  # the app is stopping: nothing more is handed on
            self._replaying = False
            raise

    async def _replay_held_input(self, settle_first: bool = False) -> None:
        try:
            if settle_first:
                await self._screen_settled()
            while self.held_input and not self._exit:
                await super().on_event(self.held_input.pop(0))
                await self._screen_settled()
        finally:
            if self._exit:
                self.held_input.clear()  # quit: what was typed after it goes nowhere
            self._replaying = False

    @staticmethod
    def _quiet(node: DOMNode) -> bool:
        """``node`` waits for its next message, and none is queued (Textual 8.2's message pump, on its own
        Queue over an asyncio.Event: its loop waits on that event only between messages, never while it handles
        one)."""
        if node._closing or node._closed:
            return True
        queue = node._message_queue
        return (node._pending_message is None and queue.empty()
                and any(not waiter.done() for waiter in queue.ready_event._waiters))  # type: ignore[attr-defined]

    async def _screen_settled(self) -> None:
        """Until the screen on top and its widgets have handled what was sent to them, and what that sent on
        (a focus moved, a screen pushed) has been handled too: rounds until one finds every node quiet and the
        screen, the focus and the nodes as the one before left them. Each round waits, behind what they hold,
        only for the nodes that are busy (a clerk typing into a form: the field, the form, the app)."""
        before: tuple[object, ...] | None = None
        for _round in range(50):
            if self._exit:
                return
            try:
                screen = self.screen
            except Exception:  # no screen left: the app is stopping
                return
            nodes = [self, *screen.walk_children(with_self=True)]
            busy = [node for node in nodes if not self._quiet(node)]
            opening = [worker._task for worker in self.workers  # type: ignore[attr-defined]
                       if worker.group in self.SCREEN_OPENING_GROUPS and worker._task is not None
                       and not worker._task.done()]
            now = (screen, self.focused, len(nodes))
            if not busy and not opening and now == before:
                return
            before = now
            if opening:  # its result opens a screen (run_job's ``done`` runs before its worker ends)
                _done, still = await asyncio.wait(opening, timeout=5)
                if still:
                    return  # a read that does not end: hand on the next key anyway
                continue
            if not busy:
                continue
            if not await self._handled_by(busy):
                return  # a widget that stopped meanwhile, or one that waits on something: hand on the next key

    @staticmethod
    async def _handled_by(nodes: list[DOMNode], timeout: float = 5) -> bool:
        """Until ``nodes`` have handled what they hold now (False after ``timeout`` seconds)."""
        pending = 0
        handled = asyncio.Event()

        def done() -> None:
            nonlocal pending
            pending -= 1
            if pending == 0:
                handled.set()

        for node in nodes:
            if node.call_later(done):
                pending += 1
        if not pending:
            await asyncio.sleep(0)
            return True
        try:
            await asyncio.wait_for(handled.wait(), timeout=timeout)
        except TimeoutError:
            return False
        return True

    def region_name(self, code: str) -> str:
        if not code:
            return ""
        from schema.models import Region

        with self.store.session() as session:
            region = session.get(Region, code)
            return region.name if region else code

    @property
    def clerk(self) -> str:
        if self._store is None and self.opening is not None:
            return self.opening.plain.setting("clerk")  # read as the app started: the store is still opening
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
        if name != "dashboard":
            self.store  # noqa: B018  (an area imports SQLAlchemy: after the store opening has, never beside it)
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
        if self.heap_settled or not self.first_data_shown or not self.store_ready:
            return
        self.heap_settled = True
        freeze_settled_heap()
        gc.enable()  # off since stvs-tui started (stvs_tui.county.start.run_county_app)

    # ---- dates typed into the store by hand (schema.stored_values) ----------------------------------------
    # A scan's finding is stale once a correction is being written: each write moves ``repair_generation`` on
    # as it starts and as it ends, and a finding of another generation than the current one opens nothing (a
    # list's second worker, failing late, would otherwise ask again for a date just corrected).

    def _first_check(self) -> None:
        """The first look for such dates: once the first screen shows its data and the store is open (the
        check never waits for the store itself, nor makes it open sooner)."""
        if self.stored_values_checked or not self.first_data_shown or not self.store_ready:
            return
        self.stored_values_checked = True
        self.check_stored_values()

    def check_stored_values(self) -> None:
        """Look (in a thread, once the first screen shows its data) for stored dates that cannot be read back;
        the clerk is asked to correct any found."""
        self.run_job(self, self._unreadable_values, self.ask_repair, group="stored-values")

    def _unreadable_values(self) -> tuple[int, list[Any]]:
        from schema.stored_values import unreadable_values

        generation = self.repair_generation
        with self.store.session() as session:
            return generation, unreadable_values(session.connection())

    def ask_repair(self, found: tuple[int, list[Any]]) -> None:
        """The repair modal for what a scan found (``schema.stored_values.Unreadable``), unless it is open
        already or the finding is stale."""
        from stvs_tui.widgets.repair import RepairModal

        generation, items = found
        if not items or generation != self.repair_generation:
            return
        if any(isinstance(screen, RepairModal) for screen in self.screen_stack):
            return
        self.push_screen(RepairModal(items[:REPAIRS_AT_ONCE], total=len(items)), self._write_repairs)

    def _write_repairs(self, corrections: list[Any] | None) -> None:
        if not corrections:
            return
        from schema.stored_values import repair_value

        self.repair_generation += 1

        def write(session: Session) -> int:
            try:
                connection = session.connection()
                for item, value in corrections:
                    repair_value(connection, item, value)
                session.commit()
            finally:
                self.repair_generation += 1
            return len(corrections)

        def written(count: int) -> None:
            self.notify(t("repair.saved", count=count))
            # What failed to load for the bad values loads again.
            reload = getattr(self.screen, "action_refresh", None) or getattr(self.screen, "load", None)
            if callable(reload):
                reload()
            self.check_stored_values()  # the next ones, when there were more than the modal showed

        self.run_db(self, write, written, group="write", exclusive=False)

    def _repair_asked(self, exc: Exception) -> bool:
        """In a worker whose read failed: whether stored dates that cannot be read back are the cause (a
        ValueError or TypeError from reading a row, not one of our own refusals); then the repair modal is
        asked for, and the failure needs no other word."""
        from schema.errors import StvsError

        if not isinstance(exc, (ValueError, TypeError)) or isinstance(exc, StvsError):
            return False
        try:
            found = self._unreadable_values()
        except Exception:  # noqa: BLE001 (the failure is told as it is)
            return False
        if found[1]:
            with contextlib.suppress(RuntimeError):  # the app has stopped meanwhile
                self.call_from_thread(self.ask_repair, found)
        return bool(found[1])

    def run_db(self, node: DOMNode, job: Callable[[Session], T], done: Callable[[T], Any] | None = None, *,
               group: str = "load", exclusive: bool = True) -> Worker[None]:
        """Run ``job(session)`` in a thread; ``done(result)`` runs on the UI thread unless superseded. A ``group``
        of ``SCREEN_OPENING_GROUPS`` ("form", "edit": ``done`` opens a screen) holds the keys typed after the one
        that started it until it has ended."""

        def in_session() -> T:
            # (a store still opening is waited for in the thread; a write takes the store's write lock first, so
            # it waits its turn while a sync or another program writes, instead of failing: Store.write_session)
            with self.store.write_session() if group == "write" else self.store.session() as session:
                return job(session)

        return self.run_job(node, in_session, done, group=group, exclusive=exclusive)

    def run_job(self, node: DOMNode, job: Callable[[], T], done: Callable[[T], Any] | None = None, *,
                group: str = "load", exclusive: bool = True) -> Worker[None]:
        """Run ``job()`` (reading the store) in a thread; ``done(result)`` runs on the UI thread unless superseded;
        a failure is told to the clerk in one line."""

        def deliver(worker: Worker[None], result: T) -> None:
            # Asked again on the UI thread: a newer load of the group may have started (and cancelled this one)
            # between the worker's own check and now, and a stale result would then undo the newer one's
            # choices (a restored team's cursor went to the first team under load).
            if not worker.is_cancelled:
                done(result)  # type: ignore[misc]

        def work() -> None:
            worker = get_current_worker()
            try:
                result = job()
            except Exception as exc:  # a failed query must reach the clerk, not kill the app
                if worker.is_cancelled and "interrupted" in str(exc):
                    return  # superseded, and its statement stopped on purpose (a list's newer keystroke)
                logging.getLogger(LOGGER).exception("database work failed")
                # A database's own refusal (a trigger's message) is the sentence, without the SQL around it.
                # (sqlalchemy.exc is imported by then whenever SQLAlchemy raised; never imported for this)
                sa_exc = sys.modules.get("sqlalchemy.exc")
                wrapped = sa_exc is not None and isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None
                error = exc.orig if wrapped else exc  # type: ignore[attr-defined]
                if group != "stored-values" and self._repair_asked(exc):
                    return  # a date typed into the store by hand that cannot be read: the clerk corrects it
                machine = storage_failure(exc)  # a full disk: say so, and that nothing was saved
                if machine is not None:
                    where = self.opening.plain.path if self.opening is not None else self.store.path
                    error = f"{where}: {machine[0]} {t('app.not_saved')}"
                if not worker.is_cancelled:
                    self.call_from_thread(self.notify, t("app.error", error=error), severity="error", markup=False)
                    if not self.first_data_shown:
                        self.call_from_thread(self.call_after_refresh, self._first_data_shown)
                return
            if done is not None and not worker.is_cancelled:
                self.call_from_thread(deliver, worker, result)
                if not self.first_data_shown or not self.heap_settled:
                    self.call_from_thread(self.call_after_refresh, self._first_data_shown)

        return node.run_worker(work, thread=True, group=group, exclusive=exclusive, exit_on_error=False)


REPAIRS_AT_ONCE = 20  # stored dates the repair modal shows at once (the rest follow once these are saved)
LANGUAGE_SETTING = "language"  # the Settings screen's language (stvs_tui.county.screens.settings.LANGUAGE)


def startup_language(store: Store | PlainStore, flag: str | None) -> str:
    """``--lang`` when given, else the language saved in Settings, else Chinese."""
    saved = store.setting(LANGUAGE_SETTING)
    return flag or (saved if saved in LANGUAGES else "zh")


def county_app_for(paths: AppPaths, lang: str | None, *, store: Store | StoreOpening | None = None,
                   first_figures: FirstFigures | None = None) -> CountyApp:
    """The county TUI on the store at ``paths.store`` (opened here unless given, or opening after the first
    screen), its log started in ``paths.logs`` (the caller closes the store); ``first_figures``: see
    ``stvs_tui.county.start``."""
    if store is None:
        from schema.store import open_store

        store = open_store(paths.store)  # first: a folder or file it cannot use is named in one line
    try:
        start_log(paths.logs)
        if isinstance(store, StoreOpening):
            settings: Store | PlainStore = store.plain  # schema.storefile.plain_open found the region list there
        else:
            from stvs_tui.regions import ensure_regions

            ensure_regions(store)
            settings = store
        logging.getLogger(LOGGER).info("county TUI opened on %s", paths.store)
        app = CountyApp(store, lang=startup_language(settings, lang), freeze_heap=True)
        app.first_figures = first_figures
        return app
    except BaseException:
        if not isinstance(store, StoreOpening):
            store.close()
        raise
