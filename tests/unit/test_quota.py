"""Rule 5's quota: at most 3 counting annotations in 90 Beijing calendar days, both ends
included; failed ones give their slot back, withdrawn ones keep it."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.annotations import QuotaSlot, counts_until, free_slot, quota


def brute_force_count(applied: list[date], today: date) -> int:
    """The rule as written: count applications in [today - 89, today]."""
    return sum(1 for d in applied if today - timedelta(days=89) <= d <= today)


def test_an_annotation_counts_on_its_own_day_and_the_eighty_ninth_day_after_but_not_the_ninetieth() -> None:
    applied = date(2026, 1, 31)
    assert counts_until(applied) == date(2026, 4, 30)
    slots = [QuotaSlot(i, f"a{i}", applied) for i in range(3)]
    assert free_slot(slots, date(2026, 4, 30)) is None
    assert free_slot(slots, date(2026, 5, 1)) == 0


def test_the_refusal_names_the_day_the_oldest_counting_annotation_stops_counting() -> None:
    slots = [QuotaSlot(0, "a", date(2026, 12, 30)), QuotaSlot(1, "b", date(2027, 1, 2)),
             QuotaSlot(2, "c", date(2027, 2, 1))]
    q = quota(slots, date(2027, 2, 1))
    assert q.used == 3
    assert q.next_available_on == date(2027, 3, 30)
    assert free_slot(slots, q.next_available_on) == 0
    assert free_slot(slots, q.next_available_on - timedelta(days=1)) is None


def test_a_certificate_without_annotations_has_its_whole_quota() -> None:
    q = quota([], date(2026, 11, 23))
    assert (q.limit, q.window_days, q.used, q.next_available_on) == (3, 90, 0, None)
    assert free_slot([], date(2026, 11, 23)) == 0


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))


@given(start=days, gaps=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=12))
def test_taking_free_slots_never_lets_more_than_three_count_in_any_window(start: date, gaps: list[int]) -> None:
    """Applications on increasing days (across month and year ends), each taking a free
    slot if there is one: the slots agree with counting the accepted applications by
    hand, and never more than three count."""
    slots: dict[int, QuotaSlot] = {}
    accepted: list[date] = []
    today = start
    for i, gap in enumerate(gaps):
        today += timedelta(days=gap)
        slot = free_slot(slots.values(), today)
        expected_free = brute_force_count(accepted, today) < 3
        assert (slot is not None) == expected_free
        if slot is not None:
            slots[slot] = QuotaSlot(slot, f"a{i}", today)
            accepted.append(today)
        assert brute_force_count(accepted, today) <= 3
        assert quota(slots.values(), today).used == brute_force_count(accepted, today)


@given(start=days, gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=10),
       fail_mask=st.lists(st.booleans(), min_size=10, max_size=10))
def test_failed_annotations_give_their_slot_back(start: date, gaps: list[int], fail_mask: list[bool]) -> None:
    slots: dict[int, QuotaSlot] = {}
    counting: list[date] = []
    today = start
    for i, gap in enumerate(gaps):
        today += timedelta(days=gap)
        slot = free_slot(slots.values(), today)
        assert (slot is not None) == (brute_force_count(counting, today) < 3)
        if slot is None:
            continue
        if fail_mask[i]:
            slots.pop(slot, None)  # what the worker's mark_failed does: delete the slot
        else:
            slots[slot] = QuotaSlot(slot, f"a{i}", today)
            counting.append(today)


@given(applied=days, probe=st.integers(min_value=0, max_value=200))
def test_next_available_on_is_exactly_when_a_slot_frees(applied: date, probe: int) -> None:
    slots = [QuotaSlot(i, f"a{i}", applied + timedelta(days=i)) for i in range(3)]
    today = applied + timedelta(days=2)
    q = quota(slots, today)
    assert q.next_available_on == applied + timedelta(days=90)
    later = today + timedelta(days=probe)
    assert (free_slot(slots, later) is not None) == (later >= q.next_available_on)


def test_the_certificate_item_has_a_slot_for_every_annotation_the_quota_allows() -> None:
    from chalicelib.domain.annotations import QUOTA_LIMIT
    from chalicelib.models import QUOTA_SLOTS

    assert len(QUOTA_SLOTS) == QUOTA_LIMIT
    assert len({slot.attr_name for slot in QUOTA_SLOTS}) == QUOTA_LIMIT
