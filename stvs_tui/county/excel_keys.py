"""The Excel area's keys, added to the one action registry on import (as the city TUI's are, ``stvs_tui.city.words``).

Apart from the screen (``stvs_tui.county.screens.excel_import``): the app installs F10 as it starts, and the
screen, with its Excel libraries, is imported only when the area first opens.
"""

from __future__ import annotations

from stvs_tui.actions import ActionSpec, register

ACTION_SPECS = (
    ActionSpec("app.excel", "f10", "go('excel')", "action.excel", "app", show=False),
    ActionSpec("excel.back", "escape", "back", "action.back", "excel", show=False),
    ActionSpec("excel.check", "ctrl+r", "check", "action.check_import", "excel", priority=True,
               short="key.check"),
    ActionSpec("excel.import", "ctrl+s", "import_all", "action.import_all", "excel", priority=True,
               short="key.import"),
    ActionSpec("excel.import_valid", "ctrl+v", "import_valid", "action.import_valid", "excel", priority=True,
               short="key.import_valid"),
    ActionSpec("excel.export", "ctrl+o", "export", "action.export_file", "excel", priority=True,
               short="key.export"),
)


def _register() -> None:
    for spec in ACTION_SPECS:
        register(spec)


_register()
