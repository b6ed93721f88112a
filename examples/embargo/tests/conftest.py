"""The embargo plugin's tests: built on erpkit's own pytest plugin, ``erpkit.testing``,
and nothing else; the app runs with the orders module and this plugin alone."""

from erpkit.testing import plugin_fixtures

database_url, app, make_app = plugin_fixtures({"orders", "embargo"}, "embargo")
