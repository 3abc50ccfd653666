"""The volunteer filter finds people only by what the list shows them with: the name, the mobile and the
unmasked parts of the ID number (``mask_id_number``), never by the hidden middle digits."""

from __future__ import annotations

import re
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


def test_short_and_odd_id_numbers_match_only_their_shown_characters(tmp_path: Path) -> None:
    """ID numbers of other lengths (passports, permits, a stray short one): the filter's per-part conditions
    (``visible_id_has``) find exactly the people a fragment is visible on, for fragments of every length."""
    store = make_store(tmp_path / "stvs.sqlite", volunteers=12)
    # (Not 9 or 10 characters: there the two shown parts meet without a "*" between them, and a fragment
    # across their seam is not taken as shown.)
    numbers = ["7", "12", "123", "9X81", "E1234567", "12345678", "1234567890X", "41052219901010123X",
               "X0000000000007", "4105"]
    try:
        with store.engine.begin() as connection:
            ids = [row[0] for row in connection.exec_driver_sql("SELECT id FROM volunteer ORDER BY id")]
            for volunteer_id, number in zip(ids, numbers, strict=False):
                connection.exec_driver_sql("UPDATE volunteer SET id_number = ?, mobile = '' WHERE id = ?",
                                           (number, volunteer_id))
        with store.session() as session:
            people = session.exec(select(Volunteer)).all()
        fragments = {number[i:j] for number in numbers for i in range(len(number)) for j in range(i + 1, len(number) + 1)}
        for fragment in sorted(fragments):
            if not re.fullmatch(r"[0-9]+[xX]?", fragment):
                continue  # not read as an ID fragment (the name is searched instead)
            expected = {p.id for p in people if fragment in p.mobile or fragment.upper() in mask_id_number(p.id_number)}
            assert found(store, fragment) == expected, fragment
    finally:
        store.close()
