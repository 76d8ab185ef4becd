"""Sandbox: the escape corpus, resource limits and the permission-checked record API.

Corpus from public reports against RestrictedPython and simpleeval: format-string
attribute access, generator frame walking (gi_frame / f_back / f_globals), __class__ /
__subclasses__ chains, __import__, getattr with dunder strings, modules reached through
allow-listed modules, exception tracebacks, try/except* tricks."""

from __future__ import annotations

import pytest

from jimu.runtime.sandbox import SandboxPool, ScriptError

ESCAPES = [
    "result = ().__class__.__bases__[0].__subclasses__()",
    "result = getattr((), '__class__')",
    "result = getattr(getattr((), '__cl' + 'ass__'), 'mro')",
    "result = '{0.__class__.__init__.__globals__}'.format(1)",
    "result = '{x.__class__}'.format_map({'x': 1})",
    "g = (x for x in [1])\nresult = getattr(g, 'gi_' + 'frame')",
    "def f():\n    yield 1\ng = f()\nresult = getattr(g, 'gi_frame').f_back.f_globals",
    "result = __import__('os').system('id')",
    "import os",
    "import subprocess",
    "from os import path",
    "import re\nresult = getattr(re, 'enum').sys",
    "import datetime\nresult = getattr(datetime, 'sys')",
    "result = open('/etc/passwd').read()",
    "result = eval('1+1')",
    "exec('x=1')",
    "result = globals()",
    "result = vars()",
    "result = type(1)",
    "try:\n    1/0\nexcept Exception as e:\n    result = getattr(e, '__traceback__')",
    "try:\n    1/0\nexcept Exception as e:\n    result = getattr(getattr(e, 'with_traceback')(None), 'tb_frame')",
    "try:\n    raise ExceptionGroup('g', [ValueError(1)])\nexcept* ValueError as eg:\n    result = eg.__traceback__",
    "result = (lambda: 0).__code__",
    "result = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "result = api._conn",
    "result = getattr(api, '_call')('get', 'item', 1)",
]


@pytest.fixture(scope="module")
def pool():
    p = SandboxPool(2, cpu=0.5, wall=8, memory_mb=128)
    yield p
    p.close()


def test_plain_script_and_allowed_imports(pool):
    out = pool.run("import math, decimal, re, datetime\nresult = [math.sqrt(x), str(decimal.Decimal('1.10') * 2), "
                   "bool(re.match('a+', 'aaa')), datetime.date(2026, 1, 2).isoformat()]\nprint('ok')",
                   {"x": 16})
    assert out.result == [4.0, "2.20", True, "2026-01-02"] and out.printed.strip() == "ok"


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_corpus_fails_safely(pool, source):
    with pytest.raises(ScriptError) as exc:
        pool.run(source)
    assert exc.value.code in ("compile", "forbidden", "runtime") and exc.value.message
    assert pool.run("result = 41 + 1").result == 42  # the pool still works


@pytest.mark.parametrize(("source", "codes"), [
    ("while True:\n    pass", {"cpu", "timeout"}),
    ("x = 'a' * (10 ** 10)", {"memory"}),
    ("x = [0] * (10 ** 9)", {"memory"}),
    ("import os\nos.fork()", {"forbidden"}),
])
def test_resource_limits_end_in_clear_errors(pool, source, codes):
    with pytest.raises(ScriptError) as exc:
        pool.run(source)
    assert exc.value.code in codes, exc.value.message
    assert pool.run("result = 'alive'").result == "alive"


def test_wall_clock_kills_and_replaces(pool):
    before = pool.replaced
    with pytest.raises(ScriptError) as exc:
        pool.run("while True:\n    pass", cpu=30, wall=0.5)
    assert exc.value.code == "timeout"
    assert pool.replaced == before + 1
    assert pool.run("result = 1").result == 1


def test_record_api_enforces_permissions(sqlite_shop_policy, pool):
    from jimu.runtime.sandbox.api import record_api

    sales, ids = sqlite_shop_policy
    handler = record_api(sales)
    out = pool.run("rows = api.list('item')\nresult = sorted([r['sku'] for r in rows])", handler=handler)
    assert out.result == ["A-1", "A-2"]  # B-1 belongs to sales2: outside the row filter
    out = pool.run("result = api.get('item', iid)['cost_price']", {"iid": ids["A-1"]}, handler=handler)
    assert out.result == "12000"  # masked for sales
    with pytest.raises(ScriptError) as exc:
        pool.run("api.get('item', iid)", {"iid": ids["B-1"]}, handler=handler)
    assert exc.value.code == "api" and "not found" in exc.value.message
    with pytest.raises(ScriptError) as exc:
        pool.run("api.update('item', iid, {'cost_price': '1'})", {"iid": ids["A-1"]}, handler=handler)
    assert exc.value.code == "api" and "cost_price" in exc.value.message
    out = pool.run("result = api.update('item', iid, {'name': 'Scripted'})['name']", {"iid": ids["A-1"]},
                   handler=handler)
    assert out.result == "Scripted"
