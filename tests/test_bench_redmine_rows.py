"""bench/redmine_rows.py: the pieces of a Redmine database that Redmine itself must accept."""

import hashlib

from bench.redmine_rows import nested_set, redmine_password


def test_nested_sets_number_each_tree_depth_first_children_in_order():
    # 1 ─┬─ 2 ─── 4        5 (alone)
    #    └─ 3
    children = {1: [3, 2], 2: [4]}
    assert nested_set(children, [1, 5], order=int) == {
        1: (1, 8),
        2: (2, 5),
        4: (3, 4),
        3: (6, 7),
        5: (1, 2),
    }


def test_a_password_is_stored_as_redmine_stores_it():
    salt = "0123456789abcdef0123456789abcdef"
    inner = hashlib.sha1(b"redmine-pw").hexdigest()
    assert redmine_password("redmine-pw", salt) == hashlib.sha1((salt + inner).encode()).hexdigest()
    assert redmine_password("redmine-pw", salt) != redmine_password("redmine-pw", salt[::-1])
