"""Access rules as one matrix: every project route against every role and a non-member."""

import pytest

ROLES = ["manager", "facilitator", "member", "viewer", "nonmember", "anonymous"]

# (method, url template, {role: expected status}); {unit}/{project} are identifiers.
ROUTES = [
    ("GET", "/projects/{project}", {"nonmember": 404, "anonymous": 302, "*": 200}),
    ("GET", "/projects/{unit}", {"nonmember": 404, "anonymous": 302, "*": 200}),
    (
        "GET",
        "/projects/{project}/settings",
        {"manager": 200, "nonmember": 404, "anonymous": 302, "*": 403},
    ),
    (
        "POST",
        "/projects/{project}/units",
        {"manager": 422, "nonmember": 404, "anonymous": 302, "*": 403},
    ),
    (
        "POST",
        "/projects/{project}/members",
        {"manager": 422, "nonmember": 404, "anonymous": 302, "*": 403},
    ),
]


@pytest.fixture
def world(make_user, make_project):
    users = {role: make_user(login=role) for role in ROLES if role != "anonymous"}
    project = make_project(
        members={users[r]: r for r in ("manager", "facilitator", "member", "viewer")}
    )
    return users, project


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,expected", ROUTES)
def test_project_routes(client, login, world, role, method, url, expected):
    users, project = world
    if role != "anonymous":
        login(users[role])
    target = url.format(project=project.identifier, unit=project.units[0].identifier)
    response = client.open(target, method=method, data={})
    assert response.status_code == expected.get(role, expected["*"]), target


@pytest.mark.parametrize("role", ROLES)
def test_project_list_shows_only_own_projects(client, login, world, make_project, role):
    users, project = world
    foreign = make_project(name="よその市 令和8年度")
    if role == "anonymous":
        assert client.get("/projects").status_code == 302
        return
    login(users[role])
    html = client.get("/projects").get_data(as_text=True)
    assert "よその市" not in html
    assert (project.name in html) == (role != "nonmember")
    assert client.get(f"/projects/{foreign.identifier}").status_code == 404


def test_admin_sees_every_project(client, login, make_user, make_project):
    project = make_project(name="よその市 令和8年度")
    login(make_user(is_admin=True))
    assert client.get(f"/projects/{project.identifier}").status_code == 200


def test_unknown_project_is_404(client, login, make_user):
    login(make_user())
    assert client.get("/projects/no-such-thing").status_code == 404
    assert client.get("/projects/99999").status_code == 404


def test_manager_adds_unit_and_member(client, login, world, make_user):
    users, project = world
    login(users["manager"])
    response = client.post(
        f"/projects/{project.identifier}/units",
        data={"unit-name": "個人住民税", "unit-identifier": f"{project.identifier}-kojin"},
    )
    assert response.status_code == 302
    newcomer = make_user(login="newcomer")
    response = client.post(
        f"/projects/{project.identifier}/members",
        data={"member-user_id": newcomer.id, "member-role": "member"},
    )
    assert response.status_code == 302
    login(newcomer)
    assert client.get(f"/projects/{project.identifier}-kojin").status_code == 200
