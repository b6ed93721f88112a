"""Import runs: a file kept in ``orders_import`` and imported in batches that record their
progress, so a run stopped half-way (a worker killed, a deploy) resumes where it was.

Each batch commits its records and the run's progress (rows done, refused, the report so
far and the checkpoint to resume from) in one transaction: after a crash the run's row
says exactly what is in the database. :func:`run_import` on a run that did not finish
goes on from its checkpoint; on a finished run it does nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from erpkit_orders.catalogue_import import CUSTOMERS, PRODUCTS, CatalogueReport, import_records
from erpkit_orders.csv_reading import CsvOptions
from erpkit_orders.import_report import OnRefused, change_dict, error_dict
from erpkit_orders.importer import Checkpoint, ImportReport, binary_of_stream, import_orders
from erpkit_orders.models import ImportRun

KINDS = ("products", "customers", "orders")
#: Refused rows kept in a run's report (the counts cover them all).
KEPT_ERRORS = 50_000
COUNTS = {"orders": ("created", "already_imported", "differs", "refused", "rows"),
          "products": ("created", "updated", "unchanged", "refused", "rows"),
          "customers": ("created", "updated", "unchanged", "refused", "rows")}


#: The background job that runs an import (declared by the orders plugin).
IMPORT_JOB = "orders.import"


def start_run(session: Session, kind: str, content: bytes, options: CsvOptions, *,
              filename: str = "", actor: str | None = None, commit: bool = True) -> ImportRun:
    """Record a file to import (``kind``: products, customers or orders); commits unless
    ``commit=False`` (to enqueue its job in the same transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    run = ImportRun(kind=kind, filename=filename[:255], content=content,
                    options=options.as_dict(), status="queued", rows_done=0,
                    rows_refused=0, report={}, created_by=actor)
    session.add(run)
    session.flush()
    if commit:
        session.commit()
    return run


def check_header(kind: str, content: bytes, options: CsvOptions) -> None:
    """Refuse at once (:class:`erpkit.ValidationFailed`) a file whose header is unusable:
    unknown, missing or doubled columns, or a header in another encoding. The rows are
    checked by the import itself."""
    from erpkit_orders.csv_reading import read_rows
    from erpkit_orders.importer import COLUMNS

    columns = COLUMNS if kind == "orders" else (
        PRODUCTS if kind == "products" else CUSTOMERS).columns
    header_only = content.split(b"\n", 1)[0] + b"\n"
    for _row in read_rows(io.BytesIO(header_only), options, columns):
        break


def import_in_background(session: Session, kind: str, content: bytes, options: CsvOptions,
                         *, filename: str = "", actor: str | None = None) -> ImportRun:
    """Keep the file as an import run and ask a worker to import it; one transaction
    (the job is handed over once it commits). Returns the run."""
    from erpkit.jobs import enqueue

    check_header(kind, content, options)
    run = start_run(session, kind, content, options, filename=filename, actor=actor,
                    commit=False)
    run.job_id = enqueue(session, IMPORT_JOB, import_id=run.id).id
    session.commit()
    return run


def resume_in_background(session: Session, run_id: int) -> ImportRun:
    """Ask a worker to go on with a run that did not finish (its worker was killed)."""
    from erpkit.jobs import enqueue

    run = session.get(ImportRun, run_id)
    if run is None:
        raise LookupError(f"no import run {run_id}")
    if run.status != "done":
        run.job_id = enqueue(session, IMPORT_JOB, import_id=run.id).id
    session.commit()
    return run


def import_job(context: Any, import_id: int) -> None:
    """The job: import the run from its checkpoint. Safe to run twice (a finished run is
    left as it is; a stopped one resumes)."""
    run_import(context.session, import_id)


def _merged(kind: str, before: dict[str, Any], report: ImportReport | CatalogueReport,
            checkpoint: Checkpoint) -> dict[str, Any]:
    """The run's report: what earlier attempts did plus what this one did so far."""
    merged: dict[str, Any] = {name: int(before.get(name, 0)) + int(getattr(report, name))
              for name in COUNTS[kind]}
    errors = list(before.get("errors", ())) + [error_dict(e) for e in report.errors]
    merged["errors"] = errors[:KEPT_ERRORS]
    if isinstance(report, CatalogueReport):
        merged["changes"] = (list(before.get("changes", ()))
                             + [change_dict(c) for c in report.changes])[:KEPT_ERRORS]
    else:
        merged["orders"] = list(before.get("orders", ())) + [
            {"order_number": o.order_number, "outcome": o.outcome, "number": o.number,
             "id": o.id} for o in report.orders][:1000]
    merged["checkpoint"] = {"safe_row": checkpoint.safe_row, "done_row": checkpoint.done_row}
    return merged


def run_import(session: Session, run_id: int, *, actor: Any = None,
               on_refused: OnRefused | None = None,
               stop_after_batches: int | None = None) -> ImportRun:
    """Import the run's file from its checkpoint to the end; returns the run.

    ``stop_after_batches`` stops (raising :class:`ImportInterrupted`) after that many
    batches have committed: how the tests stand in for a worker killed mid-file.
    A file that cannot be read at all marks the run ``failed`` with the reason.
    """
    from erpkit import ValidationFailed

    run = session.get(ImportRun, run_id)
    if run is None:
        raise LookupError(f"no import run {run_id}")
    if run.status == "done":
        return run
    before = dict(run.report or {})
    kind = run.kind
    resume = Checkpoint(**before.get("checkpoint", {}))
    options = CsvOptions.from_dict(run.options)
    content = run.content
    actor = actor or run.created_by
    run.status = "running"
    session.commit()
    batches = 0

    def record(batch_session: Session, checkpoint: Checkpoint,
               report: ImportReport | CatalogueReport) -> None:
        nonlocal batches
        if stop_after_batches is not None and batches >= stop_after_batches:
            raise ImportInterrupted(f"stopped after {batches} batches")
        batches += 1
        progress = _merged(kind, before, report, checkpoint)
        stored = batch_session.get(ImportRun, run_id)
        assert stored is not None
        stored.report = progress
        stored.rows_done = int(progress["rows"])
        stored.rows_refused = len(progress["errors"])

    try:
        if kind == "orders":
            import_orders(session, binary_of_stream(io.BytesIO(content)), options,
                          actor=actor, on_refused=on_refused, on_batch=record, resume=resume)
        else:
            import_records(session, PRODUCTS if kind == "products" else CUSTOMERS,
                           io.BytesIO(content), options, on_refused=on_refused,
                           on_batch=_catalogue_batch(record), start_after_row=resume.done_row)
    except ValidationFailed as exc:
        session.rollback()
        failed = session.get(ImportRun, run_id)
        assert failed is not None
        failed.status = "failed"
        failed.report = {**before, "problems": [
            {"field": p.field, "line": p.line, "code": p.code, "message": p.message}
            for p in exc.problems]}
        session.commit()
        return failed
    except BaseException:
        session.rollback()
        raise
    done = session.get(ImportRun, run_id)
    assert done is not None
    done.status = "done"
    session.commit()
    return done


def _catalogue_batch(record: Callable[[Session, Checkpoint, Any], None]) -> Callable[
        [Session, int, CatalogueReport], None]:
    return lambda session, last_row, report: record(session, Checkpoint(last_row, last_row),
                                                    report)


class ImportInterrupted(Exception):
    """A run stopped on purpose before its end (tests); it resumes from its checkpoint."""


def run_body(run: ImportRun, session: Session | None = None) -> dict[str, Any]:
    """The run as the API and the console show it (with its job, given a session)."""
    report = dict(run.report or {})
    report.pop("checkpoint", None)
    body = {"id": run.id, "kind": run.kind, "filename": run.filename, "status": run.status,
            "rows_done": run.rows_done, "rows_refused": run.rows_refused,
            "created_by": run.created_by, "created_at": run.created_at.isoformat(),
            "report": report, "job": None}
    if session is not None and run.job_id is not None:
        from erpkit.service_models import JobRun

        job = session.get(JobRun, run.job_id)
        if job is not None:
            body["job"] = {"id": job.id, "status": job.status, "attempts": job.attempts,
                           "last_error": job.last_error}
    return body
