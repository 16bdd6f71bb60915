"""Eval runs kept in corral's store, for `corral eval runs` and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.evals.results import EvalRun
from corral.store import Store, StoreError, default_store_url
from corral.store.records import EvalRunRecord


@dataclass(frozen=True)
class StoredRun:
    """One line of the list of stored runs."""

    id: int
    created_at: str
    suite: str
    label: str
    runs: int
    right: int

    @property
    def rate_right(self) -> float:
        return self.right / self.runs if self.runs else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "suite": self.suite,
            "label": self.label,
            "runs": self.runs,
            "right": self.right,
            "rate_right": round(self.rate_right, 4),
        }


def save_run(store_url: str | None, run: EvalRun) -> int:
    """Keep the run; its id in the store."""
    store = Store.open(store_url or default_store_url())
    try:
        return store.save_eval_run(run.to_json()).id
    finally:
        store.close()


def list_runs(store_url: str | None) -> list[StoredRun]:
    store = Store.open(store_url or default_store_url())
    try:
        return [stored_line(record) for record in store.eval_runs()]
    finally:
        store.close()


def load_stored_run(store_url: str | None, run_id: int) -> EvalRun:
    store = Store.open(store_url or default_store_url())
    try:
        record = store.eval_run(run_id)
    finally:
        store.close()
    if record is None:
        raise StoreError(f"no eval run {run_id} in the store")
    return EvalRun.from_json(record.data)


def stored_line(record: EvalRunRecord) -> StoredRun:
    return StoredRun(
        id=record.id,
        created_at=record.created_at.isoformat(timespec="seconds"),
        suite=record.suite,
        label=EvalRun.from_json(record.data).label,
        runs=record.runs,
        right=record.right,
    )
