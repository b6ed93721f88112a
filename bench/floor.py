"""The storage floor: the pipeline's rows written by plain SQLAlchemy Core, nothing else.

While the pipeline runs, :class:`WriteRecorder` notes which rows each transition wrote
(rows the ORM flushed, by table and primary key, and the Core statements plugins ran
themselves) and spools that to a file, so memory does not grow with N. :func:`replay`
then writes exactly those rows, read back from the pipeline's database, into a copy of
the database taken before the pipeline ran: one transaction per transition, one
``executemany`` per table and kind of write. No ORM, no hooks, no validation, no reads
in the timed part: what is left is what the database and the driver cost. The floor
catches up every few hundred orders, so both run under the same load.

Run on its own, ``python bench/floor.py`` is ``python bench/pipeline.py`` (the floor is
measured in the same run as the pipeline).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from workload import Observer

DML = ("INSERT", "UPDATE", "DELETE")
Segment = tuple[Any, ...]


class WriteRecorder(Observer):
    """Records the writes of each committed transition into a spool file."""

    def __init__(self, engine: sa.Engine) -> None:
        from erpkit.db import Base

        self.engine = engine
        self.order = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}
        fd, self.path = tempfile.mkstemp(prefix="erpkit-floor-", suffix=".spool")
        self.file = os.fdopen(fd, "wb")
        self.current: list[Segment] | None = None
        self.name = ""
        self.in_flush = False
        self.transitions = 0
        # The recorder's own time inside the pipeline (its listeners run in the pipeline's
        # transactions): the pipeline's figures are given with and without it.
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    # -- listening ------------------------------------------------------------------------

    def install(self) -> None:
        event.listen(Session, "before_flush", self._before_flush)
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_flush_postexec", self._after_flush_postexec)
        event.listen(self.engine, "before_cursor_execute", self._before_cursor_execute)

    def remove(self) -> None:
        event.remove(Session, "before_flush", self._before_flush)
        event.remove(Session, "after_flush", self._after_flush)
        event.remove(Session, "after_flush_postexec", self._after_flush_postexec)
        event.remove(self.engine, "before_cursor_execute", self._before_cursor_execute)
        self.file.close()

    def start(self, name: str) -> None:
        self.name = name
        self.current = []

    def end(self, committed: bool) -> None:
        started, cpu_started = time.perf_counter(), time.process_time()
        if committed and self.current is not None:
            pickle.dump((self.name, self.current), self.file, pickle.HIGHEST_PROTOCOL)
            self.transitions += 1
        self.current = None
        self._count(started, cpu_started)

    def _count(self, started: float, cpu_started: float) -> None:
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu_started

    def _before_flush(self, session: Session, *_: Any) -> None:
        self.in_flush = True

    def _after_flush_postexec(self, session: Session, *_: Any) -> None:
        self.in_flush = False

    def _after_flush(self, session: Session, _context: Any) -> None:
        if self.current is None:
            return
        started, cpu_started = time.perf_counter(), time.process_time()
        self._note_flush(session, self.current)
        self._count(started, cpu_started)

    def _note_flush(self, session: Session, current: list[Segment]) -> None:
        inserts: dict[str, list[tuple[Any, ...]]] = {}
        updates: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        deletes: dict[str, list[tuple[Any, ...]]] = {}
        for obj in session.new:
            mapper = sa.inspect(obj).mapper
            inserts.setdefault(mapper.local_table.name, []).append(
                tuple(mapper.primary_key_from_instance(obj))
            )
        for obj in session.dirty:
            columns = _changed_columns(obj)
            if columns:
                mapper = sa.inspect(obj).mapper
                key = (mapper.local_table.name, columns)
                updates.setdefault(key, []).append(tuple(mapper.primary_key_from_instance(obj)))
        for obj in session.deleted:
            mapper = sa.inspect(obj).mapper
            deletes.setdefault(mapper.local_table.name, []).append(
                tuple(mapper.primary_key_from_instance(obj))
            )
        for table in sorted(inserts, key=self.order.__getitem__):
            current.append(("insert", table, inserts[table]))
        for (table, columns), pks in updates.items():
            current.append(("update", table, columns, pks))
        for table in sorted(deletes, key=self.order.__getitem__, reverse=True):
            current.append(("delete", table, deletes[table]))

    def _before_cursor_execute(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        # Statements outside a flush are Core writes by the code itself (sequences,
        # conditional stock updates): the floor runs them as they are.
        if self.current is None or self.in_flush:
            return
        if statement.lstrip()[:6].upper() in DML:  # too quick to time: left in the pipeline
            self.current.append(("sql", statement, parameters, many))

    def flush(self) -> None:
        self.file.flush()

    def discard(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)


def _changed_columns(obj: Any) -> tuple[str, ...]:
    """The column names an UPDATE of ``obj`` set: changed attributes, version, onupdate."""
    state = sa.inspect(obj)
    mapper = state.mapper
    names: set[str] = set()
    for attr in state.attrs:
        prop = mapper.attrs[attr.key]
        if isinstance(prop, sa.orm.ColumnProperty) and attr.history.has_changes():
            names.update(c.name for c in prop.columns if c.table is mapper.local_table)
    if not names:
        return ()
    if mapper.version_id_col is not None:
        names.add(mapper.version_id_col.name)
    names.update(c.name for c in mapper.local_table.columns if c.onupdate is not None)
    return tuple(sorted(names))


# --- the replay -------------------------------------------------------------------------


def _fetch(
    source: sa.Connection, table: sa.Table, pks: set[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Full rows by primary key, as Core reads them (typed: Decimal, aware datetimes)."""
    pk_columns = list(table.primary_key.columns)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    wanted = list(pks)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        if len(pk_columns) == 1:
            where = pk_columns[0].in_([pk[0] for pk in chunk])
        else:
            where = sa.tuple_(*pk_columns).in_(chunk)
        for row in source.execute(sa.select(table).where(where)).mappings():
            found[tuple(row[c.name] for c in pk_columns)] = dict(row)
    return found


def _prepare(
    source: sa.Connection, batch: list[tuple[str, list[Segment]]]
) -> list[list[tuple[Any, ...]]]:
    """Turn recorded segments into ready-to-run Core writes (reads happen here, untimed)."""
    from erpkit.db import Base

    tables = Base.metadata.tables
    wanted: dict[str, set[tuple[Any, ...]]] = {}
    for _name, segments in batch:
        for segment in segments:
            if segment[0] in ("insert", "delete"):
                wanted.setdefault(segment[1], set()).update(segment[2])
            elif segment[0] == "update":
                wanted.setdefault(segment[1], set()).update(segment[3])
    rows = {name: _fetch(source, tables[name], pks) for name, pks in wanted.items()}

    order = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}
    return [_minimal_writes(segments, rows, tables, order) for _name, segments in batch]


def _minimal_writes(
    segments: list[Segment],
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
    tables: Any,
    order: dict[str, int],
) -> list[tuple[Any, ...]]:
    """The fewest statements that leave what one transition left: per table, one insert
    of its new rows (final values) and one update of its changed rows (every column that
    changed), parents before children; then the Core statements the code ran itself."""
    inserts: dict[str, dict[tuple[Any, ...], None]] = {}
    updates: dict[str, tuple[set[str], dict[tuple[Any, ...], None]]] = {}
    deletes: dict[str, dict[tuple[Any, ...], None]] = {}
    sql: list[tuple[Any, ...]] = []
    for segment in segments:
        kind = segment[0]
        if kind == "sql":
            sql.append(("sql", segment[1], segment[2]))
        elif kind == "insert":
            inserts.setdefault(segment[1], {}).update(dict.fromkeys(segment[2]))
        elif kind == "update":
            columns, pks = updates.setdefault(segment[1], (set(), {}))
            columns.update(segment[2])
            pks.update(dict.fromkeys(segment[3]))
        elif kind == "delete":
            deletes.setdefault(segment[1], {}).update(dict.fromkeys(segment[2]))

    writes: list[tuple[Any, ...]] = []
    for table_name in sorted(inserts, key=order.__getitem__):
        found = rows[table_name]
        values = [found[pk] for pk in inserts[table_name] if pk in found]
        if values:
            writes.append(("core", tables[table_name].insert(), values))
    for table_name in sorted(updates, key=order.__getitem__):
        columns, pks = updates[table_name]
        table = tables[table_name]
        pk_names = [c.name for c in table.primary_key.columns]
        new = inserts.get(table_name, {})
        found = rows[table_name]
        names = sorted(columns)
        params = [
            {
                **{f"pk_{n}": v for n, v in zip(pk_names, pk, strict=True)},
                **{f"v_{c}": found[pk][c] for c in names},
            }
            for pk in pks
            if pk in found and pk not in new  # a new row was inserted with its final values
        ]
        if params:
            statement = (
                table.update()
                .where(*(table.c[n] == sa.bindparam(f"pk_{n}") for n in pk_names))
                .values({c: sa.bindparam(f"v_{c}") for c in names})
            )
            writes.append(("core", statement, params))
    if any(_inserts_into_a_parent(statement, tables) for _, statement, _ in sql):
        # A Core insert may be a parent of the rows above: keep the recorded order.
        return _in_recorded_order(segments, rows, tables)
    writes.extend(sql)
    for table_name in sorted(deletes, key=order.__getitem__, reverse=True):
        table = tables[table_name]
        pk_names = [c.name for c in table.primary_key.columns]
        statement = table.delete().where(*(table.c[n] == sa.bindparam(f"pk_{n}") for n in pk_names))
        params = [
            {f"pk_{n}": v for n, v in zip(pk_names, pk, strict=True)} for pk in deletes[table_name]
        ]
        writes.append(("core", statement, params))
    return writes


def _inserts_into_a_parent(statement: str, tables: Any) -> bool:
    """Whether ``statement`` is an INSERT into a table other tables refer to (the rows
    written after it may need it). An insert into a table nothing refers to, such as
    the timeline's one statement per transition, keeps the minimal writes."""
    words = statement.split()
    if len(words) < 3 or words[0].upper() != "INSERT":
        return False
    name = words[2].strip('"')
    return name not in tables or any(
        fk.column.table.name == name for table in tables.values() for fk in table.foreign_keys)


def _in_recorded_order(
    segments: list[Segment], rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]], tables: Any
) -> list[tuple[Any, ...]]:
    """Each recorded segment as one statement, in the order the pipeline ran them."""
    writes: list[tuple[Any, ...]] = []
    for segment in segments:
        kind = segment[0]
        if kind == "sql":
            writes.append(("sql", segment[1], segment[2]))
            continue
        table = tables[segment[1]]
        found = rows[segment[1]]
        pk_names = [c.name for c in table.primary_key.columns]
        where = [table.c[n] == sa.bindparam(f"pk_{n}") for n in pk_names]
        if kind == "insert":
            values = [found[pk] for pk in segment[2] if pk in found]
            if values:
                writes.append(("core", table.insert(), values))
        elif kind == "update":
            names = list(segment[2])
            params = [
                {
                    **{f"pk_{n}": v for n, v in zip(pk_names, pk, strict=True)},
                    **{f"v_{c}": found[pk][c] for c in names},
                }
                for pk in segment[3]
                if pk in found
            ]
            if params:
                statement = (
                    table.update().where(*where).values({c: sa.bindparam(f"v_{c}") for c in names})
                )
                writes.append(("core", statement, params))
        elif kind == "delete":
            params = [
                {f"pk_{n}": v for n, v in zip(pk_names, pk, strict=True)} for pk in segment[2]
            ]
            writes.append(("core", table.delete().where(*where), params))
    return writes


class Floor:
    """Replays what the recorder spooled into the floor database, a batch at a time.

    Call :meth:`catch_up` between chunks of the pipeline: both then run under the same
    load (the machine may be shared). Only the writing transactions are timed.
    """

    def __init__(self, recorder: WriteRecorder, source_url: str, target_url: str,
                 raw_url: str | None = None) -> None:
        from erpkit.db import create_engine

        self.recorder = recorder
        self.source = create_engine(source_url)
        self.target = create_engine(target_url)
        self.spool = open(recorder.path, "rb")  # noqa: SIM115  (read as the recorder writes)
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.transactions = 0
        self.statements = 0
        # The raw driver: the very statements and parameters SQLAlchemy handed the driver
        # in the Core replay, run again on a third copy with sqlite3 or psycopg alone.
        self.raw = RawDriver(raw_url) if raw_url else None
        self.captured: list[tuple[str, Any, bool]] | None = None
        sa.event.listen(self.target, "before_cursor_execute", self._capture)

    def _capture(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any,
                 many: bool) -> None:
        if self.captured is not None and not statement.startswith("BEGIN"):
            self.captured.append((statement, parameters, many))

    def catch_up(self) -> None:
        self.recorder.flush()
        batch: list[tuple[str, list[Segment]]] = []
        while True:
            try:
                batch.append(pickle.load(self.spool))
            except EOFError:
                break
            if len(batch) >= 1000:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _write(self, batch: list[tuple[str, list[Segment]]]) -> None:
        with self.source.connect() as conn:
            prepared = _prepare(conn, batch)
        clock, cpu = time.perf_counter, time.process_time
        transactions: list[list[tuple[str, Any, bool]]] = []
        started, cpu_started = clock(), cpu()
        for writes in prepared:
            self.captured = []
            with self.target.begin() as conn:
                for kind, statement, params in writes:
                    if kind == "sql":
                        conn.exec_driver_sql(statement, params)
                    else:
                        conn.execute(statement, params)
            transactions.append(self.captured)
            self.statements += len(writes)
        self.captured = None
        self.seconds += clock() - started
        self.cpu_seconds += cpu() - cpu_started
        self.transactions += len(prepared)
        if self.raw is not None:
            self.raw.write(transactions)

    def report(self) -> dict[str, Any]:
        """Seconds, counts, and the rows of each table in both databases (the same)."""
        counts = {}
        with self.source.connect() as s, self.target.connect() as t:
            for table in ("orders_order", "orders_order_line", "orders_timeline_event"):
                counts[table] = _count(s, table), _count(t, table)
            for name in sa.inspect(s).get_table_names():
                if name.startswith(("inventory_", "approvals_")):
                    counts[name] = _count(s, name), _count(t, name)
        raw = self.raw.report() if self.raw is not None else None
        return {
            "seconds": round(self.seconds, 3),
            "process_cpu_seconds": round(self.cpu_seconds, 3),
            "transactions": self.transactions,
            "write_statements": self.statements,
            **({"raw_driver": raw} if raw is not None else {}),
            "rows_pipeline_vs_floor": {
                k: {"pipeline": a, "floor": b} for k, (a, b) in counts.items() if a or b
            },
        }

    def close(self) -> None:
        self.spool.close()
        self.source.dispose()
        self.target.dispose()
        if self.raw is not None:
            self.raw.close()


class RawDriver:
    """The floor's transactions through the database driver alone (sqlite3, psycopg):
    the statements and parameters SQLAlchemy sent, one transaction per transition."""

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(url)
        self.backend = parsed.get_backend_name()
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.transactions = 0
        self.statements = 0
        if self.backend == "sqlite":
            import sqlite3

            self.driver = f"sqlite3 {sqlite3.sqlite_version}"
            self.conn: Any = sqlite3.connect(parsed.database, isolation_level=None)
            for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.driver = f"psycopg {psycopg.__version__}"
            self.conn = psycopg.connect(
                parsed.set(drivername="postgresql").render_as_string(hide_password=False))

    def write(self, transactions: list[list[tuple[str, Any, bool]]]) -> None:
        clock, cpu = time.perf_counter, time.process_time
        started, cpu_started = clock(), cpu()
        sqlite = self.backend == "sqlite"
        for statements in transactions:
            cursor = self.conn.cursor()
            if sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            for statement, parameters, many in statements:
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
            if sqlite:
                cursor.execute("COMMIT")
            else:
                self.conn.commit()
            cursor.close()
            self.statements += len(statements)
        self.seconds += clock() - started
        self.cpu_seconds += cpu() - cpu_started
        self.transactions += len(transactions)

    def report(self) -> dict[str, Any]:
        return {"driver": self.driver, "seconds": round(self.seconds, 3),
                "process_cpu_seconds": round(self.cpu_seconds, 3),
                "transactions": self.transactions, "statements": self.statements}

    def close(self) -> None:
        self.conn.close()


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one())


if __name__ == "__main__":
    import pipeline

    pipeline.main()
