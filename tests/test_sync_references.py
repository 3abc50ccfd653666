"""A change is checked only for the references it sets: editing a child row (a member's role, an attendee's
hours) syncs even though the change does not repeat the parent's id."""

from __future__ import annotations

import sqlite3

from sync_fixtures import StoreFactory, ThreadServer, add_volunteer, sync, update_row

from schema.models import Membership, Team
from schema.store import Store

COUNTY = "410522"


def add_membership(store: Store) -> str:
    """A volunteer in a new team: returns the membership's id."""
    volunteer_id = add_volunteer(store, name="王芳")
    with store.session() as session:
        team = Team(county_code=COUNTY, name="白璧镇科技志愿服务队")
        session.add(team)
        session.flush()
        membership = Membership(county_code=COUNTY, team_id=team.id, volunteer_id=volunteer_id)
        session.add(membership)
        session.commit()
        return membership.id


def test_editing_a_synced_child_row_is_applied_not_rejected(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(COUNTY)
    first, second = stores.make(COUNTY), stores.make(COUNTY)
    membership_id = add_membership(first)
    assert sync(first, city, token).rejected == 0
    sync(second, city, token)
    update_row(first, "membership", membership_id, role="leader")
    summary = sync(first, city, token)
    assert (summary.applied, summary.rejected) == (1, 0), summary.rejected_records
    sync(second, city, token)
    with second.session() as session:
        assert session.get(Membership, membership_id).role == "leader"


def test_a_change_setting_an_unknown_parent_is_still_rejected(city: ThreadServer, stores: StoreFactory) -> None:
    token = city.token(COUNTY)
    first = stores.make(COUNTY)
    membership_id = add_membership(first)
    sync(first, city, token)
    with sqlite3.connect(first.path) as connection:  # the sqlite3 shell does not enforce foreign keys
        connection.execute("UPDATE membership SET team_id = ? WHERE id = ?",
                           ("019b0000-0000-7000-8000-000000000000", membership_id))
    summary = sync(first, city, token)
    assert summary.rejected == 1
    assert summary.rejected_records[0]["reason"] == "missing_reference"
