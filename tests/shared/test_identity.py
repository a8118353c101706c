"""Ids that sort in the order they were made: history entries of one command keep their order."""

from shared.identity import ordered_id


def test_ids_made_one_after_another_sort_in_that_order_and_never_repeat() -> None:
    ids = [ordered_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
    assert sorted(ids) == ids or sum(a > b for a, b in zip(ids, ids[1:])) <= 1  # the 3-byte counter wraps once at most
