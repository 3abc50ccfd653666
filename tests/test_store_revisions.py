"""Opening a database at head reads the migration graph as text, without importing Alembic (~11 MB of every
process); it must be the graph Alembic itself reads, and a database at head must not load Alembic at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from schema.store import MIGRATIONS_DIR, _revisions, head_revision

ROOT = Path(__file__).resolve().parent.parent


def test_the_migration_graph_read_as_text_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    assert _revisions() == {script.revision: script.down_revision for script in scripts.walk_revisions()}
    assert head_revision() == scripts.get_current_head()


def test_opening_a_store_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from schema.store import open_store; "
            "p = Path(sys.argv[1]); open_store(p, daily_backup=False).close(); "  # created: migrated with Alembic
            "import importlib; [sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] in ('alembic', 'mako')]; "
            "open_store(p, daily_backup=False).close(); print('alembic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "stvs.sqlite")], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"


def test_two_migrations_with_one_revision_id_are_refused(tmp_path: Path) -> None:
    """Two branches that each added "the next" migration (two 0010s) are named, not silently collapsed."""
    import pytest

    from schema.store import _read_revisions

    (tmp_path / "versions").mkdir()
    for name, down in (("0001_a", None), ("0002_b", "0001"), ("0002_c", "0001")):
        (tmp_path / "versions" / f"{name}.py").write_text(
            f'revision: str = "{name[:4]}"\ndown_revision: str | None = {down and repr(down)}\n', encoding="utf-8")
    with pytest.raises(AssertionError, match="two migrations are revision 0002"):
        _read_revisions(tmp_path)
