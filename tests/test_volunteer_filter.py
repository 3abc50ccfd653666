"""The volunteer filter finds people only by what the list shows them with: the name, the mobile and the
unmasked parts of the ID number (``mask_id_number``), never by the hidden middle digits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from test_tui_fixtures import COUNTY, make_store

from schema.models import Volunteer
from schema.store import Store
from schema.validators import mask_id_number
from stvs_tui.queries import VolunteerFilter, volunteer_page


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = make_store(Path(tmp_path_factory.mktemp("filter")) / "stvs.sqlite", volunteers=60)
    yield store
    store.close()


def found(store: Store, text: str) -> set[str]:
    with store.session() as session:
        return {row.id for row in volunteer_page(session, COUNTY, VolunteerFilter(text=text), 0, 1000)}


def test_hidden_id_digits_find_nobody_by_the_id(store: Store) -> None:
    with store.session() as session:
        people = session.exec(select(Volunteer)).all()
    for person in people[:10]:
        hidden = person.id_number[8:12]  # inside the masked middle (birth date digits)
        matches = found(store, hidden)
        visible = [p.id for p in people if hidden in p.mobile or hidden in mask_id_number(p.id_number)]
        assert matches == set(visible), hidden


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_an_id_fragment_finds_exactly_the_people_it_is_visible_on(store: Store, data: st.DataObject) -> None:
    with store.session() as session:
        people = session.exec(select(Volunteer)).all()
    person = data.draw(st.sampled_from(people))
    start = data.draw(st.integers(0, len(person.id_number) - 3))
    fragment = person.id_number[start:start + data.draw(st.integers(3, 6))]
    if not fragment[:-1].isdigit():
        return
    expected = {p.id for p in people
                if fragment in p.mobile or fragment.upper() in mask_id_number(p.id_number)}
    assert found(store, fragment) == expected
