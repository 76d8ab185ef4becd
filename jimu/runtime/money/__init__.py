"""Money (DESIGN 16): invoices, payments and their allocations, aging, overdue notices.

The ``invoice`` and ``payment`` CBUs hold the records and workflows; their trusted actions
call :mod:`.invoices` (issue, invoice from an order) and :mod:`.payments` (post a payment).
:mod:`.aging` is the report's one SQL aggregate, :mod:`.report` the caller's view of it
(``GET /api/apps/{app}/reports/aging``), :mod:`.overdue` the scheduled notices. Importing
this package registers the overdue task with the scheduler and the test clock.
"""

from jimu.runtime.money import overdue as _overdue

_overdue.register()
