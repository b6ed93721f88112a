"""The statement counts are of the pipeline the benchmarks measure: orders, approvals and
inventory. Other modules (crm, logistics, reporting) add statements of their own, which
their own tests watch; counting them here would make every new module move these
ceilings."""

from erpkit.testing import plugin_fixtures

database_url, app, make_app = plugin_fixtures({"orders", "approvals", "inventory"},
                                              "performance")
