"""Plugin discovery: find, check, order and register the installed plugins.

A plugin is a module (or any object) published under the entry point group
``erpkit.plugins`` that carries a :class:`PluginMeta` as its ``PLUGIN`` attribute and
implements hooks from :mod:`erpkit.hookspecs`. The core refuses to start, with a message
that names the fix, when the set of plugins cannot work together.
"""

from __future__ import annotations

import graphlib
import importlib
import os
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata, resources
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

import erpkit
from erpkit import hookspecs
from erpkit.facts import FactDefinition
from erpkit.parameters import Parameter, ParameterStore
from erpkit.problems import ValidationFailed
from erpkit.transitions import TransitionFailed, TransitionRefused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ENTRY_POINT_GROUP = "erpkit.plugins"
#: The key of ``Session.info`` under which a session carries the registry it serves.
SESSION_REGISTRY_KEY = "erpkit.registry"
ENABLED_ENV = "ERPKIT_PLUGINS"
CORE = "core"


class PluginError(RuntimeError):
    """The installed plugins cannot work together; the message says how to fix it."""


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin declares about itself.

    ``name`` is the plugin's name (also its table prefix, migration branch label and
    parameter prefix); ``requires`` the plugins it needs; ``core`` the core versions it
    works with, as a version specifier (``">=0.1,<0.2"``); ``migrations`` where its
    Alembic revisions are, as ``"package:folder"``, or ``None`` when it has no tables;
    ``hookspecs`` a module of hooks the plugin itself offers to other plugins.
    """

    name: str
    requires: tuple[str, ...] = ()
    core: str = ">=0.1"
    migrations: str | None = None
    description: str = ""
    #: A module of further hook specs this plugin defines for others to implement
    #: (``"erpkit_inventory.hookspecs"``), marked with :data:`erpkit.hookspecs.hookspec`.
    hookspecs: str | None = None


@dataclass
class LoadedPlugin:
    meta: PluginMeta
    obj: Any
    version: str
    distribution: str | None
    enabled: bool = True
    #: Where a disabled plugin comes from: it is not imported unless its migrations are
    #: needed.
    entry_point: metadata.EntryPoint | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def package(self) -> str:
        """The top-level package of the plugin's code, to attribute exceptions to it."""
        name = self.obj.__name__ if _is_module(self.obj) else getattr(self.obj, "__module__", "")
        return str(name or "").split(".")[0]

    def migrations_path(self) -> Path | None:
        """The folder of the plugin's revisions, or ``None`` when it has no tables.

        Also known for a disabled plugin, whose revisions may be applied in the database:
        its module is then imported just to read its declaration (one that fails to
        import has no say).
        """
        meta = self.meta if self.obj is not None else self._declared_meta()
        if meta is None or not meta.migrations:
            return None
        package, _, folder = meta.migrations.partition(":")
        return Path(str(resources.files(package).joinpath(folder)))

    def _declared_meta(self) -> PluginMeta | None:
        if self.entry_point is None:
            return None
        try:
            meta = getattr(self.entry_point.load(), "PLUGIN", None)
        except Exception:
            return None
        return meta if isinstance(meta, PluginMeta) else None


def _is_module(obj: Any) -> bool:
    return type(obj).__name__ == "module"


@dataclass
class Registry:
    """The running set of plugins with everything they declared at set-up."""

    pm: pluggy.PluginManager
    plugins: dict[str, LoadedPlugin]  # enabled plugins in dependency order
    installed: dict[str, LoadedPlugin]
    parameters: ParameterStore = field(init=False)
    facts: dict[str, tuple[str, FactDefinition]] = field(default_factory=dict)
    table_owners: dict[str, str] = field(default_factory=dict)
    permissions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parameters = ParameterStore({})

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def session_info(self) -> dict[str, Any]:
        """The ``info`` a session needs to serve this registry (see :func:`registry_of`)."""
        return {SESSION_REGISTRY_KEY: self}

    def session(self, bind: Any) -> Session:
        """A new session on ``bind`` (an engine or connection) that carries this registry,
        so the business code it is handed finds the plugins through :func:`registry_of`."""
        from sqlalchemy.orm import Session

        return Session(bind, info=self.session_info())

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a lifecycle hook; attribute a refusal or failure to the plugin that raised.

        :class:`TransitionRefused` and :class:`ValidationFailed` pass through with
        ``plugin`` filled in; any other exception becomes :class:`TransitionFailed`.
        Either way the caller's transaction must roll back.
        """
        try:
            return getattr(self.pm.hook, hook_name)(**kwargs)
        except TransitionRefused as exc:
            exc.plugin = exc.plugin or self.plugin_of_exception(exc.__traceback__)
            raise
        except (ValidationFailed, TransitionFailed):
            raise  # already says whose it is
        except Exception as exc:
            raise TransitionFailed(self.plugin_of_exception(exc.__traceback__), exc) from exc

    def plugin_of_exception(self, tb: TracebackType | None) -> str | None:
        """The plugin whose code raised: the innermost frame that is one of a plugin's hook
        implementations or lies in a plugin's package."""
        implementations = {
            getattr(impl.function, "__code__", None): impl.plugin_name
            for caller in vars(self.pm.hook).values()
            for impl in getattr(caller, "get_hookimpls", list)()
        }
        packages = {p.package: p.name for p in self.plugins.values() if p.package}
        found = None
        for frame, _line in traceback.walk_tb(tb):
            top = frame.f_globals.get("__name__", "").split(".")[0]
            found = implementations.get(frame.f_code) or packages.get(top, found)
        return found


def _meta_of(obj: Any, entry_point_name: str) -> PluginMeta:
    meta = getattr(obj, "PLUGIN", None)
    if not isinstance(meta, PluginMeta):
        raise PluginError(
            f"plugin {entry_point_name!r} has no PLUGIN = erpkit.PluginMeta(...) declaration. "
            "Fix: declare its name, requirements and migrations there "
            "(see docs/write-a-plugin.md)."
        )
    if meta.name != entry_point_name:
        raise PluginError(
            f"plugin {entry_point_name!r} declares the name {meta.name!r}. Fix: make the entry "
            f"point name in group {ENTRY_POINT_GROUP!r} and PluginMeta.name the same."
        )
    return meta


def _installed(extra: Sequence[Any], enabled: set[str] | None) -> dict[str, LoadedPlugin]:
    found: dict[str, LoadedPlugin] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else None
        if ep.name in found:
            raise PluginError(
                f"two installed distributions provide the plugin {ep.name!r}: "
                f"{found[ep.name].distribution} and {dist}. Fix: pip uninstall one of them."
            )
        if enabled is not None and ep.name not in enabled:
            found[ep.name] = LoadedPlugin(PluginMeta(ep.name), None, _version(ep), dist, False,
                                          entry_point=ep)
            continue
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name!r} (distribution {dist}) failed to import: "
                f"{type(exc).__name__}: {exc}. Fix: reinstall {dist}, or leave {ep.name!r} "
                f"out of {ENABLED_ENV}, or pip uninstall {dist}."
            ) from exc
        found[ep.name] = LoadedPlugin(_meta_of(obj, ep.name), obj, _version(ep), dist)
    for obj in extra:
        meta = getattr(obj, "PLUGIN", None)
        name = meta.name if isinstance(meta, PluginMeta) else repr(obj)
        if name in found:
            raise PluginError(
                f"two plugins share the name {name!r} ({found[name].distribution or 'in-process'}"
                f" and an in-process plugin). Fix: rename one of them."
            )
        meta = _meta_of(obj, name)
        version = getattr(obj, "__version__", "0")
        found[name] = LoadedPlugin(meta, obj, version, None, enabled is None or name in enabled)
    return found


def _version(ep: metadata.EntryPoint) -> str:
    return ep.dist.version if ep.dist else "0"


def _check_core_version(plugin: LoadedPlugin) -> None:
    try:
        supported = SpecifierSet(plugin.meta.core)
    except InvalidSpecifier as exc:
        raise PluginError(f"plugin {plugin.name!r}: bad core version specifier: {exc}") from exc
    if not supported.contains(Version(erpkit.__version__), prereleases=True):
        raise PluginError(
            f"plugin {plugin.name!r} {plugin.version} supports erpkit core {plugin.meta.core}, "
            f"but core {erpkit.__version__} is installed. Fix: install a version of "
            f"{plugin.distribution or plugin.name} made for core {erpkit.__version__}."
        )


def _check_requirements(plugins: Mapping[str, LoadedPlugin]) -> None:
    for plugin in plugins.values():
        if not plugin.enabled:
            continue
        for required in plugin.meta.requires:
            if required not in plugins:
                raise PluginError(
                    f"plugin {plugin.name!r} requires plugin {required!r}, which is not "
                    f"installed. Fix: pip install erpkit-{required}, or uninstall "
                    f"{plugin.distribution or plugin.name}."
                )
            if not plugins[required].enabled:
                raise PluginError(
                    f"plugin {plugin.name!r} requires plugin {required!r}, which is disabled. "
                    f"Fix: add {required!r} to {ENABLED_ENV}, or leave {plugin.name!r} out."
                )


def dependency_order(plugins: Mapping[str, LoadedPlugin]) -> list[str]:
    """Plugin names with every plugin after the ones it requires; ties in name order."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for plugin in plugins.values():
        sorter.add(plugin.name, *plugin.meta.requires)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise PluginError(
            f"plugin dependencies form a cycle: {cycle}. Fix: remove one of these "
            "requirements, or merge the plugins."
        ) from exc
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


def enabled_from_config(config: Mapping[str, Any] | None = None) -> set[str] | None:
    """The plugin names to enable, from config ``PLUGINS`` or the environment.

    ``None`` means every installed plugin.
    """
    value = (config or {}).get("PLUGINS")
    if value is None:
        value = os.environ.get(ENABLED_ENV)
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return set(value)


def load_plugins(
    enabled: set[str] | None = None, extra: Sequence[Any] = ()
) -> Registry:
    """Discover, check, order and register plugins; raise :class:`PluginError` when they
    cannot work together."""
    installed = _installed(extra, enabled)
    if enabled is not None:
        unknown = sorted(enabled - set(installed))
        if unknown:
            raise PluginError(
                f"{ENABLED_ENV} names plugins that are not installed: {', '.join(unknown)}. "
                f"Fix: pip install them or remove them from {ENABLED_ENV}. "
                f"Installed: {', '.join(sorted(installed)) or 'none'}."
            )
    active = {name: p for name, p in installed.items() if p.enabled}
    _check_requirements(installed)
    for plugin in active.values():
        _check_core_version(plugin)
    order = dependency_order(active)

    pm = pluggy.PluginManager("erpkit")
    pm.add_hookspecs(hookspecs)
    for name in order:
        specs = active[name].meta.hookspecs
        if specs:
            pm.add_hookspecs(importlib.import_module(specs))
    # pluggy calls the last registered implementation first: register dependents first
    # so that a plugin's implementation runs after those of the plugins it requires.
    for name in reversed(order):
        try:
            pm.register(active[name].obj, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {name!r} has an invalid hook implementation: {exc}. Fix: match the "
                "arguments of the spec in erpkit.hookspecs."
            ) from exc
    pm.register(core_plugin_module(), name=CORE)  # registered last: the core's run first
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"{exc}. Fix: rename the function to a hook in erpkit.hookspecs (hooks are named "
            "erpkit_<entity>_<event>), or remove the @hookimpl marker."
        ) from exc

    registry = Registry(pm=pm, plugins={n: active[n] for n in order}, installed=installed)
    _collect_declarations(registry)
    return registry


def _collect_declarations(registry: Registry) -> None:
    from erpkit import models as core_models  # noqa: F401  (core tables on the metadata)
    from erpkit.db import Base

    declared: dict[str, Parameter] = {}
    for owner, parameter in setup_items(registry, "erpkit_parameters"):
        _check_prefixed(owner, "parameter", parameter.name)
        if parameter.name in declared:
            raise PluginError(
                f"parameter {parameter.name!r} is declared by both "
                f"{declared[parameter.name].owner!r} and {owner!r}. Fix: prefix parameter "
                "names with the plugin name."
            )
        declared[parameter.name] = replace(parameter, owner=owner)
    registry.parameters = ParameterStore(declared)

    for owner, fact in setup_items(registry, "erpkit_fact_definitions"):
        _check_prefixed(owner, "fact", fact.name)
        if fact.name in registry.facts:
            raise PluginError(
                f"fact {fact.name!r} is declared by both {registry.facts[fact.name][0]!r} and "
                f"{owner!r}. Fix: prefix fact names with the plugin name."
            )
        registry.facts[fact.name] = (owner, fact)

    for owner, permission in setup_items(registry, "erpkit_permissions"):
        _check_prefixed(owner, "permission", permission.name)
        registry.permissions.setdefault(permission.name, permission)

    for table in Base.metadata.tables.values():
        if table.name.startswith(f"{CORE}_"):
            registry.table_owners[table.name] = CORE
    for owner, model in setup_items(registry, "erpkit_models"):
        table = model.__table__
        if not table.name.startswith(f"{owner}_"):
            raise PluginError(
                f"plugin {owner!r} defines table {table.name!r}. Fix: prefix its tables with "
                f"'{owner}_' so plugins never share a table."
            )
        registry.table_owners[table.name] = owner


def _check_prefixed(owner: str, kind: str, name: str) -> None:
    """Refuse a plugin's parameter, fact or permission not named ``<plugin>.<name>``.

    The prefix is what keeps two plugins from sharing a name, like ``<plugin>_`` for
    tables. The core's own names (``core.*``, ``admin.console``) predate the rule.
    """
    if owner == CORE or (name.startswith(f"{owner}.") and len(name) > len(owner) + 1):
        return
    raise PluginError(
        f"plugin {owner!r} declares the {kind} {name!r}. Fix: name it "
        f"'{owner}.{name.rpartition('.')[2] or 'name'}': {kind} names start with the "
        "plugin's name and a dot, so plugins never share one."
    )


def setup_items(registry: Registry, hook_name: str) -> Iterable[tuple[str, Any]]:
    caller = getattr(registry.pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        for item in impl.function() or ():
            yield impl.plugin_name, item


def core_plugin_module() -> Any:
    """The core's own hook implementations (its parameters), registered like a plugin."""
    from erpkit import core_plugin

    return core_plugin


def current_registry() -> Registry:
    """The registry of the running app (inside an app context).

    For the web and command-line edges only: business code takes the registry as an
    argument, or reads it from its session with :func:`registry_of`, so that it runs in a
    worker or a script without a Flask app.
    """
    from flask import current_app

    return current_app.extensions["erpkit"]


def registry_of(session: Session) -> Registry:
    """The registry ``session`` serves: the app's sessions and :func:`open_session`'s
    carry it in ``session.info``."""
    registry = session.info.get(SESSION_REGISTRY_KEY)
    if not isinstance(registry, Registry):
        raise RuntimeError(
            "this session has no erpkit registry: make it with registry.session(engine) / "
            "erpkit.open_session(...), or use the app's db.session, or pass registry= "
            "to the function you called"
        )
    return registry


def open_session(database_url: str | None = None, plugins: Iterable[str] | None = None, *,
                 extra_plugins: Sequence[Any] = ()) -> Session:
    """A session for scripts and workers, with no Flask app: the plugins are loaded and
    the session carries their registry.

    ``database_url`` defaults to ``ERPKIT_DATABASE_URL`` (else ``erpkit.db``);
    ``plugins`` names the plugins to enable (default: ``ERPKIT_PLUGINS``, else every
    installed one); ``extra_plugins`` are in-process plugin objects. Close the session
    when done; ``session.get_bind().dispose()`` closes its connections.
    """
    from erpkit.app import database_url as configured_url
    from erpkit.db import create_engine

    enabled = set(plugins) if plugins is not None else enabled_from_config()
    registry = load_plugins(enabled, extra=extra_plugins)
    engine = create_engine(configured_url({"DATABASE_URL": database_url}))
    return registry.session(engine)

