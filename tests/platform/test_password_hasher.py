"""The production password hasher's cost. The test suite hashes its users' passwords at
minimal cost (tests/conftest.py ``cheap_hashes``), so this is where the real parameters
are pinned: OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane), and a hash made at that
cost verifies through :func:`verify_password`.

Mutation seen failing: ``_hasher = PasswordHasher(time_cost=1, memory_cost=8, ...)`` in
jimu/platform/auth/users.py (the cheap test parameters leaking into production)."""

from __future__ import annotations

import jimu.platform.auth.users as users_mod


def test_production_hasher_is_argon2id_at_owasp_minimum() -> None:
    params = users_mod._hasher
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19456, 1)
    hashed = users_mod._hasher.hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert users_mod.verify_password(hashed, "correct horse")
    assert not users_mod.verify_password(hashed, "wrong horse")


def test_cheap_test_hashes_are_still_real_argon2() -> None:
    """The suite's cheap hashes verify through the production check (which reads the cost
    from the hash) and reject a wrong password."""
    hashed = users_mod.hash_password("sales")  # patched by the autouse fixture
    assert hashed.startswith("$argon2id$") and ",t=1," in hashed
    assert users_mod.verify_password(hashed, "sales")
    assert not users_mod.verify_password(hashed, "sale")
