"""A line per state change for programs that drive the app from outside (a browser test, a bench).

Set ``STVS_STATE_FILE`` to a path and the app appends one line per state it reaches (``city.signin``,
``city.loaded queue=3``, ...). Unset, nothing is written. A driver waits for a state here rather than for a
time: the browser shows the app as pixels, so this file is what says the screen is ready for keys.

Every app reports ``screen ConfirmModal`` when a screen is drawn and ``focus ConfirmModal #no`` when its focus has
landed (``stvs_tui.widgets.help.RegistryApp``): a key is sent only after the line naming the widget that must
take it, never after the screen's line alone (the focus moves a moment after the screen is drawn).
"""

from __future__ import annotations

import os


def report_state(state: str) -> None:
    path = os.environ.get("STVS_STATE_FILE")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(state + "\n")
    except OSError:
        pass  # a driver's file that cannot be written never stops the app
