"""The ``jimu.testing`` fixtures, as a CBU author would use them."""

from jimu.testing import jimu_app, jimu_db_url, jimu_instance  # noqa: F401
