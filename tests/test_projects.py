from datetime import date

import pytest

from core.timeutil import fiscal_year_bounds, fiscal_year_of
from projects import services


@pytest.mark.parametrize(
    "day,year",
    [(date(2026, 3, 31), 2025), (date(2026, 4, 1), 2026), (date(2027, 3, 31), 2026)],
)
def test_fiscal_year_runs_april_to_march(day, year):
    assert fiscal_year_of(day) == year


def test_fiscal_year_bounds():
    assert fiscal_year_bounds(2026) == (date(2026, 4, 1), date(2027, 3, 31))


def test_year_label_in_both_languages(make_project):
    project = make_project(fiscal_year=2026)
    assert project.year_label("ja") == "令和8年度"
    assert project.year_label("en") == "FY2026"
    assert project.units[0].year_label("ja") == "令和8年度"


def test_identifiers_are_unique(make_project):
    project = make_project()
    with pytest.raises(services.ProjectError):
        services.create_unit(project, "重複", project.units[0].identifier)


def test_membership_covers_units_and_role_changes(make_project, make_user):
    import permissions

    user = make_user()
    project = make_project()
    services.set_membership(project.units[0], user, "viewer")  # stored on the fiscal year
    assert permissions.role_in(user, project.units[0]) == "viewer"
    services.set_membership(project, user, "manager")
    assert permissions.role_in(user, project) == "manager"
