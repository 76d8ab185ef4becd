"""The template market: capability units (CBUs), templates built from them, and the
installer that merges them into an app (install, three-way upgrade, uninstall).

Public entry points: :func:`jimu.templates_market.installer.install_template`,
:func:`~jimu.templates_market.installer.install_cbu`,
:func:`~jimu.templates_market.lifecycle.upgrade_cbu`,
:func:`~jimu.templates_market.lifecycle.uninstall_cbu` and the catalogue in
:mod:`jimu.templates_market.catalog`.
"""

__all__: list[str] = []
