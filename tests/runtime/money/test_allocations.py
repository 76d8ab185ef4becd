"""Payments settle invoices: over-allocation and currency mismatches are refused with the
figures, and for random invoices and payments Σ allocations per invoice never exceeds its
amount and open = amount − allocations (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jimu.core.errors import ValidationError
from tests.runtime.money.conftest import APP, MoneyApp


def test_partial_then_full_payment(money: MoneyApp) -> None:
    c = money.customer()
    inv = money.invoice(c, "177.50")
    money.confirm(money.payment(c, "100.00", [(inv["id"], "100.00")]))
    got = money.get("invoice", inv["id"])
    assert (got["paid_amount"], got["open_amount"], got["state"]) == (Decimal("100.00"), Decimal("77.50"),
                                                                      "partially_paid")
    money.confirm(money.payment(c, "77.50", [(inv["id"], "77.50")]))
    got = money.get("invoice", inv["id"])
    assert (got["open_amount"], got["open_base_amount"], got["state"]) == (Decimal("0.00"), Decimal("0.00"), "paid")


def test_over_allocation_names_the_figures(money: MoneyApp) -> None:
    c = money.customer()
    a, b = money.invoice(c, "50.00"), money.invoice(c, "80.00")
    with pytest.raises(ValidationError) as too_much:  # 30 + 30 on an invoice of 50
        money.confirm(money.payment(c, "100.00", [(a["id"], "30.00"), (b["id"], "10.00"), (a["id"], "30.00")]))
    assert too_much.value.code == "payment.over_allocated"
    assert (too_much.value.extra["open_amount"], too_much.value.extra["allocated"]) == ("50.00", "60.00")
    with pytest.raises(ValidationError) as above_payment:
        money.confirm(money.payment(c, "60.00", [(a["id"], "40.00"), (b["id"], "40.00")]))
    assert above_payment.value.extra == {"allocated": "80.00", "amount": "60.00"}
    assert money.get("invoice", a["id"])["open_amount"] == Decimal("50.00")  # nothing applied


def test_currency_mismatch_and_foreign_invoice(money: MoneyApp) -> None:
    c, other = money.customer(), money.customer()
    usd = money.invoice(c, "100.05", currency="USD", fx_rate="7.1255")
    assert (usd["base_amount"], usd["open_base_amount"]) == (Decimal("712.91"), Decimal("712.91"))
    jpy = money.invoice(c, "1234.5", currency="JPY", fx_rate="0.0478")  # JPY has no minor unit: 1235
    assert (jpy["amount"], jpy["base_amount"]) == (Decimal("1235.00"), Decimal("59.03"))  # 1235 × 0.0478 = 59.033
    with pytest.raises(ValidationError) as mismatch:
        money.confirm(money.payment(c, "10.00", [(usd["id"], "10.00")]))
    assert mismatch.value.code == "payment.currency_mismatch"
    assert (mismatch.value.extra["invoice_currency"], mismatch.value.extra["payment_currency"]) == ("USD", "CNY")
    with pytest.raises(ValidationError) as foreign:
        money.confirm(money.payment(other, "10.00", [(usd["id"], "10.00")], currency="USD"))
    assert foreign.value.code == "payment.partner"
    money.confirm(money.payment(c, "10.00", [(usd["id"], "10.00")], currency="USD", fx_rate="7.2"))
    got = money.get("invoice", usd["id"])
    assert (got["open_amount"], got["open_base_amount"]) == (Decimal("90.05"), Decimal("641.65"))  # 90.05 × 7.1255


def test_cancelled_or_paid_invoice_takes_no_payment(money: MoneyApp) -> None:
    c = money.customer()
    inv = money.invoice(c, "20.00")
    money.engine.fire(APP, "invoice", inv["id"], "cancel")
    with pytest.raises(ValidationError) as closed:
        money.confirm(money.payment(c, "5.00", [(inv["id"], "5.00")]))
    assert closed.value.code == "payment.invoice_state"


CENTS = st.integers(min_value=1, max_value=50_000)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(CENTS, min_size=1, max_size=3),
       payments=st.lists(st.tuples(st.integers(0, 30_000), st.lists(st.tuples(st.integers(0, 2), CENTS),
                                                                     min_size=1, max_size=3)),
                         min_size=1, max_size=5))
def test_allocations_never_exceed_and_open_is_amount_less_allocations(
        money: MoneyApp, amounts: list[int], payments: list[tuple[int, list[tuple[int, int]]]]) -> None:
    """Mutation tried: without the per-invoice check against the open amount in
    ``check_allocations`` an invoice gets paid beyond its amount and this fails."""
    cents = Decimal("0.01")
    c = money.customer()
    invoices = [money.invoice(c, str(a * cents)) for a in amounts]
    for slack, allocs in payments:
        rows = [(invoices[i % len(invoices)]["id"], str(x * cents)) for i, x in allocs]
        total = sum(x for _, x in allocs)
        # sometimes below the allocations' total (refused), sometimes with some left unallocated
        pay = money.payment(c, str(max(1, total + slack - 15_000) * cents), rows)
        try:
            money.confirm(pay)
        except ValidationError as exc:
            assert exc.code in ("payment.over_allocated", "payment.invoice_state"), exc  # a paid invoice is closed
    rt = money.jimu.apps.get(APP)
    pa, p = rt.tables("payment_allocation"), rt.tables("payment")
    with money.jimu.db.read() as conn:
        rows = conn.execute(sa.select(pa.c.invoice, pa.c.amount).select_from(pa.join(p, pa.c._parent_id == p.c.id))
                            .where(p.c.state == "confirmed", p.c.customer == c)).all()
    allocated: dict[int, Decimal] = {}
    for inv_id, amount in rows:
        allocated[int(inv_id)] = allocated.get(int(inv_id), Decimal(0)) + amount
    for inv in invoices:
        got = money.get("invoice", inv["id"])
        done = allocated.get(int(inv["id"]), Decimal(0)).quantize(cents)
        assert done <= got["amount"]
        assert got["paid_amount"] == done
        assert got["open_amount"] == got["amount"] - done
        assert got["state"] == ("paid" if done == got["amount"] else "partially_paid" if done else "issued")


def test_disbursement_settles_a_purchase_invoice(money: MoneyApp) -> None:
    """The payable side: a disbursement to the supplier pays its purchase invoice; a
    receipt cannot (kinds must match: 422 ``payment.partner``)."""
    sup = int(money.jimu.records.create(APP, "supplier", {"name": "光明乳业"})["id"])
    inv = money.jimu.records.create(APP, "invoice", {"kind": "purchase", "supplier": sup, "amount": "168.00"})
    inv = money.engine.fire(APP, "invoice", inv["id"], "issue")
    assert (inv["open_amount"], inv["state"]) == (Decimal("168.00"), "issued")
    with pytest.raises(ValidationError) as wrong_kind:
        money.confirm(money.payment(money.customer(), "10.00", [(inv["id"], "10.00")]))
    assert wrong_kind.value.code == "payment.partner"
    pay = money.jimu.records.create(APP, "payment", {"kind": "disbursement", "supplier": sup, "amount": "168.00",
                                                     "allocations": [{"invoice": inv["id"], "amount": "168.00"}]})
    money.confirm(pay)
    got = money.get("invoice", inv["id"])
    assert (got["paid_amount"], got["open_amount"], got["state"]) == (Decimal("168.00"), Decimal("0.00"), "paid")


def test_concurrent_payments_never_overpay(money: MoneyApp) -> None:
    """Two payments of 50.00 confirmed at once against an invoice of 100.00 already partly
    paid (10.00): one applies, the other is refused (422 over-allocated once it sees 40.00
    open, or 409 on the invoice's version), never both. On PostgreSQL a third connection holds the invoice row
    while both start, so their transactions really overlap. Mutation tried: without the
    row lock in ``post_payment`` and with the record service's version check off, both
    went through on PostgreSQL (a lost update: paid 60.00 recorded for 110.00 received)."""
    import threading
    import time

    import sqlalchemy as sa

    from jimu.core.errors import JimuError

    c = money.customer()
    inv = money.invoice(c, "100.00")
    money.confirm(money.payment(c, "10.00", [(inv["id"], "10.00")]))
    pays = [money.payment(c, "50.00", [(inv["id"], "50.00")]) for _ in range(2)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def go(p: dict[str, object]) -> None:
        barrier.wait()
        try:
            money.confirm(p)  # type: ignore[arg-type]
            outcomes.append("ok")
        except JimuError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=go, args=(p,)) for p in pays]
    blocker = None
    if not money.jimu.db.is_sqlite:
        table = money.jimu.apps.get(APP).tables("invoice")
        blocker = money.jimu.db.engine.connect()
        blocker.begin()
        blocker.execute(sa.select(table.c.id).where(table.c.id == inv["id"]).with_for_update())
    for t in threads:
        t.start()
    if blocker is not None:
        time.sleep(1.0)  # both confirmations are now waiting on the invoice row
        blocker.rollback()
        blocker.close()
    for t in threads:
        t.join()
    assert sorted(outcomes)[0] == "ok" and outcomes.count("ok") == 1, outcomes
    got = money.get("invoice", inv["id"])
    assert (got["paid_amount"], got["open_amount"]) == (Decimal("60.00"), Decimal("40.00"))
