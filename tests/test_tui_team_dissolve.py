"""Dissolving a team says how many members it has; a dissolved team shows as 已解散 wherever it appears, is
listed with Ctrl+L and restored with Ctrl+G."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui_fixtures import COUNTY, county_app, make_store, settle, wait_until

from schema.enums import TeamStatus
from schema.models import Team
from schema.store import Store
from stvs_tui import queries
from stvs_tui.county.screens.teams import TeamsScreen
from stvs_tui.i18n import use_language
from stvs_tui.widgets.confirm import ConfirmModal


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = make_store(tmp_path / "stvs.sqlite", volunteers=40)
    yield store
    store.close()


def status_of(store: Store, team_id: str) -> str:
    with store.session() as session:
        return session.get(Team, team_id).status


async def test_dissolve_names_the_members_then_the_team_is_marked_listed_and_restorable(store: Store) -> None:
    app = county_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.detail is not None
                         and bool(app.screen.detail.members))
        screen = app.screen
        team, members = screen.detail.team, screen.detail.members
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert f"还有 {len(members)} 名队员" in app.screen.question
        await pilot.press("left", "enter")
        await wait_until(pilot, lambda: status_of(store, team.id) == TeamStatus.DISSOLVED.value)
        await settle(pilot)
        assert team.id not in [leaf.data for leaf in screen.query_one("#team-tree").root.children[0].children]

        # Wherever the team appears it says 已解散: a member's row in the volunteer list, the record.
        use_language("zh")
        with store.session() as session:
            rows = queries.volunteer_page(session, COUNTY, queries.VolunteerFilter(team_id=team.id), 0, 100)
            detail = queries.volunteer_detail(session, members[0].volunteer_id)
        assert rows == [] or all(f"{team.name}（已解散）" in row.teams for row in rows)
        assert f"{team.name}（已解散）" in [name for name, _role, _joined in detail.memberships]

        await pilot.press("ctrl+l")  # the dissolved teams
        await wait_until(pilot, lambda: screen.detail is not None and screen.detail.team.id == team.id)
        assert "已解散" in str(screen.query_one("#team-info").content)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("left", "enter")
        await wait_until(pilot, lambda: status_of(store, team.id) == TeamStatus.ACTIVE.value)
        # Back among the active teams, with the tree's cursor on the restored team and its record beside it.
        tree = screen.query_one("#team-tree")
        await wait_until(pilot, lambda: not screen.dissolved and team.id in [
            leaf.data for branch in tree.root.children for leaf in branch.children])
        await settle(pilot)
        assert tree.cursor_node is not None and tree.cursor_node.data == team.id
        assert tree.cursor_line == tree.cursor_node.line
        assert screen.detail is not None and screen.detail.team.id == team.id
        assert "已解散" not in str(screen.query_one("#team-info").content)


async def test_dissolving_an_empty_team_asks_the_plain_question(store: Store) -> None:
    with store.session() as session:
        empty = Team(county_code=COUNTY, name="空队", tier="grassroots", host_kind="township")
        session.add(empty)
        session.commit()
        empty_id = empty.id
    app = county_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_area(TeamsScreen(select_team=empty_id))
        await wait_until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.detail is not None
                         and app.screen.detail.team.id == empty_id)
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "名队员" not in app.screen.question
        await pilot.press("enter")  # 否
        await settle(pilot)
        assert status_of(store, empty_id) == TeamStatus.ACTIVE.value
