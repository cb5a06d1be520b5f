"""Record keeping whose memory does not grow with the horizon.

A run produces one record per incident and per dispute.  ``RecordBook`` keeps them in memory
while they are open; once a run spools it to a parquet file, the finished records at the front
(in id order) go to the file in batches and are dropped, so memory holds the open cases and at
most one batch.  An open record holds back the ones behind it until it finishes; with callers'
patience set every incident finishes within hours, and disputes are few.

``TimeSeries`` keeps the hourly rows as one float array per column rather than a dict per row.
"""

from __future__ import annotations

import math
import numbers
import shutil
import tempfile
import weakref
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class RecordBook:
    """Records of one kind in id order: a list while the run is open, spooled in batches."""

    def __init__(self, to_frame: Callable[[list], pd.DataFrame], done: Callable[[object], bool],
                 records: Iterable = (), batch: int = 20_000):
        self._to_frame = to_frame
        self._done = done
        self._mem: list = list(records)
        self._spooled = 0
        self._batch = batch
        self._next_flush = batch
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self.path: Path | None = None

    # A list to the model: ids are positions (`len` counts spooled records too); iteration and
    # indexing see the records still in memory (all of them unless the run spools).
    def append(self, record) -> None:
        self._mem.append(record)
        if self._writer is not None and len(self._mem) >= self._next_flush:
            self._flush()

    def __len__(self) -> int:
        return self._spooled + len(self._mem)

    def __iter__(self):
        return iter(self._mem)

    def __getitem__(self, i):
        return self._mem[i]

    @property
    def in_memory(self) -> int:
        return len(self._mem)

    def spool(self, path: str | Path) -> None:
        """From now on, write finished records to the parquet file `path` in batches."""
        self.path = Path(path)
        self._schema = pa.Schema.from_pandas(self._to_frame([]), preserve_index=False)
        self._writer = pq.ParquetWriter(self.path, self._schema)
        self._flush()

    def _write(self, records: list) -> None:
        table = pa.Table.from_pandas(self._to_frame(records), schema=self._schema,
                                     preserve_index=False)
        self._writer.write_table(table)

    def _flush(self) -> None:
        mem, done = self._mem, self._done
        k = 0
        while k < len(mem) and done(mem[k]):
            k += 1
        if k:
            self._write(mem[:k])
            del mem[:k]
            self._spooled += k
        self._next_flush = len(mem) + self._batch

    def close(self) -> Path | None:
        """Write what is left (open records included) and close the file; its path, or None
        if the book never spooled."""
        if self._writer is None:
            return self.path
        if self._mem:
            self._write(self._mem)
            self._spooled += len(self._mem)
            self._mem = []
        self._writer.close()
        self._writer = None
        return self.path

    def frame(self) -> pd.DataFrame:
        """All records as a table (reads the spool back if there is one)."""
        if self.path is not None:
            self.close()
            return pd.read_parquet(self.path)
        return self._to_frame(self._mem)


def read_batches(path: Path, columns: list[str], rows: int = 200_000):
    """Some columns of a spooled table, a batch of `rows` at a time, strings as categories."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
        yield batch.to_pandas(strings_to_categorical=True, ignore_metadata=True)


class Spool:
    """A temporary folder for a run's spooled tables, removed when the last user is gone."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sim-spool-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.dir, True)

    def __truediv__(self, name: str) -> Path:
        return self.dir / name


class TimeSeries:
    """The reporting ticks' rows, stored as one typed array per column (8 bytes a value): a
    column stays integer while every value is, as a DataFrame built from the rows would."""

    def __init__(self):
        self._cols: dict[str, array] = {}
        self._n = 0

    def append(self, row: dict) -> None:
        for key, value in row.items():
            integral = isinstance(value, numbers.Integral)
            col = self._cols.get(key)
            if col is None:
                col = self._cols[key] = array("q" if integral else "d")
                if self._n:   # a column that appears late: earlier rows lack it
                    col = self._cols[key] = array("d", [math.nan] * self._n)
            elif col.typecode == "q" and not integral:
                col = self._cols[key] = array("d", col)
            col.append(value)
        self._n += 1
        for key, col in self._cols.items():
            if len(col) < self._n:   # a column missing from this row
                if col.typecode == "q":
                    col = self._cols[key] = array("d", col)
                col.append(math.nan)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> dict:
        i = range(self._n)[i]
        return {k: c[i] for k, c in self._cols.items()}

    def __iter__(self):
        for i in range(self._n):
            yield {k: c[i] for k, c in self._cols.items()}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: pd.Series(np.frombuffer(c, dtype="int64" if c.typecode == "q"
                                                         else "float64").copy())
                             for k, c in self._cols.items()})
