"""Users and delegation (issue 17): delegation gives one answer for an unknown user and
for a user one may not delegate to (no username oracle); passwords chosen through the
API are at least 8 characters, while the demo users keep their name as password (DESIGN
15: the seeding is an explicit exemption)."""

from __future__ import annotations

from jimu.cli.basics import ensure_demo_users

URL = "/api/apps/shop/delegations"


def test_delegation_does_not_reveal_which_usernames_exist(api):
    """Mutation caught: ``delegate`` back to "unknown delegate" for a missing user only
    (ghost was 422 ``user.missing`` while nobody, a real user without a role here, was 201)."""
    api.jimu.users.create("gone", "gone", ["sales"], active=False)
    answers = []
    for target in ("ghost", "nobody", "gone", "sales", "", 7):
        r = api.post("sales", URL, json={"delegate": target})
        assert r.status_code == 422, (target, r.text)
        body = r.json()
        answers.append((body["code"], body["detail"], body["errors"]))
    assert len(set(map(repr, answers))) == 1, answers  # byte-for-byte the same problem
    assert answers[0][0] == "delegation.invalid"
    r = api.post("sales", URL, json={"delegate": "sales2"})
    assert r.status_code == 201 and r.json()["delegate"] == "sales2", r.text
    assert api.post("sales", URL, json={"delegate": "admin"}).status_code == 201  # admins act in every app


def test_api_passwords_have_a_minimum_length(api):
    """Mutation caught: ``create_user``/``patch_user`` without ``check_password_policy``
    (a 2-character password was accepted)."""
    for short in ("ab", "1234567"):
        r = api.post("admin", "/api/users", json={"username": "buyer", "password": short})
        assert r.status_code == 422 and r.json()["code"] == "password.too_short", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = api.post("admin", "/api/users", json={"username": "buyer", "password": "12345678", "roles": ["sales"]})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = api.patch("admin", f"/api/users/{uid}", json={"password": "short"})
    assert r.status_code == 422 and r.json()["code"] == "password.too_short"
    assert api.client.post("/api/auth/token", json={"username": "buyer", "password": "12345678"}).status_code == 200
    assert api.patch("admin", f"/api/users/{uid}", json={"password": "another-long-one"}).status_code == 200


def test_demo_users_keep_their_name_as_password(api):
    """The exemption: ``ensure_demo_users`` seeds ``vp``/``vp`` etc., shorter than the
    policy, and they log in (mutation caught: the policy moved into ``UserService.create``)."""
    ensure_demo_users(api.jimu)
    for name in ("vp", "manager", "finance", "purchasing"):
        r = api.client.post("/api/auth/token", json={"username": name, "password": name})
        assert r.status_code == 200, (name, r.text)
