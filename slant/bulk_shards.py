"""Where `slant score --engine ray` reads and writes: input shards, output shards and the manifest,
on any filesystem pyarrow opens (a local path, file://, s3://, gs://, hdfs://, ...). No Ray here:
slant/bulk_ray.py runs these steps on the cluster.

Layout (docs/scale.md):

- INPUT is one file (JSONL, or Parquet when it ends in .parquet) and OUTPUT the answers file; or
  INPUT is a folder whose ``.jsonl``/``.ndjson``/``.parquet`` files (subfolders too; names that
  start with ``.`` or ``_`` are skipped) are the shards, and OUTPUT a folder that gets one JSONL
  answers file per shard, at the same relative path and name (``x.parquet`` answers go to
  ``x.jsonl``), plus ``_manifest.json``.
- An output shard is written as ``.NAME.partial`` and renamed to NAME when its last record is in:
  a shard under its own name is complete. The manifest says which input, model and options made
  the answers, and which shards are done; ``--resume`` skips those and redoes the rest.
- A JSONL line is a record as in the local `slant score` (``line`` in an error record counts from
  1 in each shard); a Parquet row is a record whose columns are the Article fields (text, html,
  paragraphs, title, url, targets) and ``line`` is the row number, from 1.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow.fs as pafs

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
MANIFEST = "_manifest.json"
MANIFEST_FORMAT = "slant-score-shards/1"
ARTICLE_COLUMNS = ("text", "html", "paragraphs", "title", "url", "targets")
EXPECTED = (
    "a JSONL file (one article JSON per line) or a folder of JSONL (.jsonl, .ndjson) or Parquet (.parquet) shards"
)


class LayoutError(ValueError):
    """An input or output that cannot be scored as asked; the message names what was found, what
    is expected and the fix."""


@dataclass(frozen=True)
class Shard:
    name: str  # path relative to the input folder (the file name for a one-file input)
    path: str  # full path on the input filesystem
    kind: str  # jsonl | parquet
    size: int  # bytes
    out: str  # full path of its answers on the output filesystem


@dataclass
class Job:
    input: str  # as given
    output: str
    in_fs: pafs.FileSystem
    out_fs: pafs.FileSystem
    out_root: str  # the output folder's path on out_fs (a one-file job: the answers file's)
    folder: bool  # a folder of shards (with a manifest) rather than one file
    shards: list[Shard]
    done: set[str] = field(default_factory=set)  # names of shards already complete (--resume)
    manifest: dict = field(default_factory=dict)


def open_path(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) for a local path or any URI pyarrow knows."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), os.path.realpath(uri)
    try:
        return pafs.FileSystem.from_uri(uri)
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid, ValueError or OSError
        raise LayoutError(
            f"cannot open {uri}: {e}; expected a local path or a URI pyarrow opens (file://, s3://, gs://, hdfs://)"
        ) from None


def kind_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def _out_name(name: str, kind: str) -> str:
    return name.rsplit(".", 1)[0] + ".jsonl" if kind == "parquet" else name


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _inside(fs_a: pafs.FileSystem, a: str, fs_b: pafs.FileSystem, b: str) -> bool:
    """Whether path ``a`` is ``b`` or lies under it (same filesystem)."""
    if fs_a.type_name != fs_b.type_name:
        return False
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/")


def list_shards(fs: pafs.FileSystem, root: str, out_root: str, uri: str) -> list[Shard]:
    """The shards of an input folder, sorted by relative path; refuses unknown files."""
    shards, unknown = [], []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type != pafs.FileType.File:
            continue
        relative = info.path[len(root.rstrip("/")) + 1 :]
        if _hidden(relative):
            continue
        kind = kind_of(relative)
        if kind is None:
            unknown.append(relative)
            continue
        out = f"{out_root.rstrip('/')}/{_out_name(relative, kind)}"
        shards.append(Shard(relative, info.path, kind, info.size or 0, out))
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise LayoutError(
            f"input folder {uri} holds files that are not shards: {', '.join(sorted(unknown)[:5])}{more}; "
            f"expected {EXPECTED} (compressed files are not read: decompress them); move the others out or "
            "start their names with '_'"
        )
    if not shards:
        raise LayoutError(f"input folder {uri} holds no shards; expected {EXPECTED}")
    shards.sort(key=lambda s: s.name)
    seen: dict[str, str] = {}
    for s in shards:
        if s.out in seen:
            raise LayoutError(
                f"input shards {seen[s.out]} and {s.name} would both write {s.out}; rename one of them "
                "(a Parquet shard's answers take its name with .jsonl)"
            )
        seen[s.out] = s.name
    return shards


def plan_job(input_uri: str, output_uri: str, identity: dict, *, resume: bool, force: bool) -> Job:
    """Check INPUT and OUTPUT, list the shards, and (with ``resume``) find the complete ones.

    ``identity`` (input, model, options) goes into the manifest; a resumed run must match it."""
    in_fs, in_path = open_path(input_uri)
    out_fs, out_path = open_path(output_uri)
    info = in_fs.get_file_info(in_path)
    if info.type == pafs.FileType.NotFound:
        raise LayoutError(f"INPUT {input_uri} does not exist; expected {EXPECTED}; check the path")
    out_info = out_fs.get_file_info(out_path)
    if info.type == pafs.FileType.File:
        if _inside(out_fs, out_path, in_fs, in_path):
            raise LayoutError(f"--out {output_uri} is the input file; give the answers a file of their own")
        if out_info.type == pafs.FileType.Directory:
            raise LayoutError(
                f"--out {output_uri} is a folder, but INPUT {input_uri} is one file; give the answers file, "
                f"e.g. {output_uri.rstrip('/')}/{os.path.basename(in_path)}"
            )
        kind = "parquet" if in_path.lower().endswith(PARQUET_SUFFIXES) else "jsonl"
        shard = Shard(os.path.basename(in_path), in_path, kind, info.size or 0, out_path)
        job = Job(input_uri, output_uri, in_fs, out_fs, out_path, False, [shard])
        if out_info.type == pafs.FileType.File:
            if resume:
                job.done = {job.shards[0].name}  # written whole under its name: complete
            elif not force:
                raise LayoutError(
                    f"{output_uri} already holds answers; pass --resume to keep them or --force to score again"
                )
        return job
    if _inside(out_fs, out_path, in_fs, in_path):
        raise LayoutError(
            f"--out {output_uri} is inside the input folder {input_uri}: its answers would be read as input "
            "shards next time; put the output folder outside the input folder"
        )
    if out_info.type == pafs.FileType.File:
        raise LayoutError(
            f"--out {output_uri} is a file, but INPUT {input_uri} is a folder of shards; give a folder for "
            "the answer shards (one per input shard, plus _manifest.json)"
        )
    job = Job(input_uri, output_uri, in_fs, out_fs, out_path, True, list_shards(in_fs, in_path, out_path, input_uri))
    if out_info.type == pafs.FileType.Directory:
        _check_output_folder(job, out_path, identity, resume=resume, force=force)
    job.manifest = _fresh_manifest(job, identity, job.manifest if resume else {})
    return job


def _check_output_folder(job: Job, out_path: str, identity: dict, *, resume: bool, force: bool) -> None:
    fs = job.out_fs
    manifest = read_manifest(fs, out_path)
    if manifest is None:
        entries = fs.get_file_info(pafs.FileSelector(out_path))
        if entries and not force:
            raise LayoutError(
                f"--out {job.output} already holds {len(entries)} entries but no {MANIFEST} (not a "
                "`slant score --engine ray` output); choose an empty or new folder, or pass --force to "
                "write the answer shards into it anyway"
            )
        return
    if force:
        return
    if not resume:
        raise LayoutError(
            f"--out {job.output} holds the answers of an earlier run ({MANIFEST}); pass --resume to "
            "continue it (complete shards are kept) or --force to score every shard again"
        )
    for key in ("input", "model", "options"):
        if manifest.get(key) != identity[key]:
            raise LayoutError(
                f"--out {job.output} was made with {key} {json.dumps(manifest.get(key))}, this run has "
                f"{json.dumps(identity[key])}; resume with the same {key}, or pass --force (or a new --out) "
                "to score again"
            )
    before = {s["input"]: s for s in manifest.get("shards", [])}
    for shard in job.shards:
        old = before.get(shard.name)
        if old and old.get("done") and old.get("bytes") == shard.size:
            if fs.get_file_info(shard.out).type == pafs.FileType.File:
                job.done.add(shard.name)
    job.manifest = manifest


def read_manifest(fs: pafs.FileSystem, folder: str) -> dict | None:
    path = f"{folder.rstrip('/')}/{MANIFEST}"
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as f:
        try:
            return json.loads(f.read().decode("utf-8"))
        except ValueError as e:
            raise LayoutError(f"{path} is not valid JSON ({e}); delete it and pass --force to score again") from None


def _fresh_manifest(job: Job, identity: dict, old: dict) -> dict:
    before = {s["input"]: s for s in old.get("shards", [])}
    shards = []
    for s in job.shards:
        entry: dict[str, Any] = {"input": s.name, "output": _out_name(s.name, s.kind), "bytes": s.size}
        kept = before.get(s.name, {}) if s.name in job.done else {}
        entry.update({"done": s.name in job.done, "records": kept.get("records"), "errors": kept.get("errors")})
        shards.append(entry)
    return {"format": MANIFEST_FORMAT, **identity, "shards": shards, "complete": False, "runs": old.get("runs", [])}


def write_manifest(job: Job) -> None:
    """Write the manifest under a temporary name, then rename it into place."""
    if not job.folder:
        return
    job.manifest["complete"] = all(s["done"] for s in job.manifest["shards"])
    job.manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _write_atomic(job.out_fs, f"{job.out_root}/{MANIFEST}", (json.dumps(job.manifest, indent=1) + "\n").encode())


def _write_atomic(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    tmp = partial_path(path)
    fs.create_dir(tmp.rpartition("/")[0], recursive=True)
    with fs.open_output_stream(tmp) as f:
        f.write(data)
    fs.move(tmp, path)


def partial_path(path: str) -> str:
    head, _, name = path.rpartition("/")
    return f"{head}/.{name}.partial"


# ------------------------------------------------------------------------------------------------
# Reading: a shard is planned into chunks (record ranges) once; each chunk is then read on its own
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    first: int  # line (row) number of its first record, from 1
    start: int  # JSONL: byte offsets [start, end); Parquet: row offsets
    end: int
    records: int


def plan_shard(fs: pafs.FileSystem, shard: Shard, chunk_records: int) -> list[Chunk]:
    """A shard's records in chunks of ``chunk_records`` (one read of the file for JSONL, the footer
    for Parquet)."""
    if shard.kind == "parquet":
        rows = _parquet_file(fs, shard).metadata.num_rows
        return [
            Chunk(a + 1, a, min(a + chunk_records, rows), min(chunk_records, rows - a))
            for a in range(0, rows, chunk_records)
        ]
    starts, lines, pos, last = [0], 0, 0, b"\n"
    with fs.open_input_stream(shard.path, compression=None) as f:
        while block := f.read(1 << 20):
            n = block.count(b"\n")
            if (lines % chunk_records) + n < chunk_records:
                lines += n
            else:
                i = -1
                while (i := block.find(b"\n", i + 1)) >= 0:
                    lines += 1
                    if lines % chunk_records == 0:
                        starts.append(pos + i + 1)
            pos, last = pos + len(block), block[-1:]
    total = lines + (1 if pos and last != b"\n" else 0)  # a last line without a newline counts
    if starts[-1] == pos:
        starts.pop()
    ends = [*starts[1:], pos]
    return [
        Chunk(k * chunk_records + 1, a, b, min(chunk_records, total - k * chunk_records))
        for k, (a, b) in enumerate(zip(starts, ends))
        if total
    ]


def read_chunk(fs: pafs.FileSystem, path: str, kind: str, chunk: Chunk) -> list[tuple[int, bytes]]:
    """``(line number, raw line)`` pairs of one chunk, as the local `slant score` reads its lines
    (a Parquet row as the JSON object of its columns)."""
    if kind == "parquet":
        return [(chunk.first + i, raw) for i, raw in enumerate(_parquet_rows(fs, path, chunk.start, chunk.end))]
    with fs.open_input_file(path) as f:
        data = f.read_at(chunk.end - chunk.start, chunk.start)
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return [(chunk.first + i, raw.rstrip(b"\r\n")) for i, raw in enumerate(lines)]


def _parquet_file(fs: pafs.FileSystem, shard: Shard):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(fs.open_input_file(shard.path))
    columns = f.schema_arrow.names
    other = [c for c in columns if c not in ARTICLE_COLUMNS]
    if other or not {"text", "html", "paragraphs"} & set(columns):
        raise LayoutError(
            f"Parquet shard {shard.name} has columns {columns}; expected the article fields "
            f"{', '.join(ARTICLE_COLUMNS)} (one of text, html or paragraphs set in each row) and no others; "
            "select or rename the columns when writing the shard"
        )
    return f


def _parquet_rows(fs: pafs.FileSystem, path: str, start: int, end: int) -> list[bytes]:
    import pyarrow.parquet as pq

    f = pq.ParquetFile(fs.open_input_file(path))
    out: list[bytes] = []
    first = 0  # row offset of the current row group
    for g in range(f.metadata.num_row_groups):
        rows = f.metadata.row_group(g).num_rows
        if first + rows > start and first < end:
            table = f.read_row_group(g).slice(max(0, start - first), min(end, first + rows) - max(start, first))
            out.extend(row_json(row) for row in table.to_pylist())
        first += rows
    return out


def row_json(row: dict[str, Any]) -> bytes:
    """A Parquet row as the JSON line the local `slant score` would read (nulls stay null: an absent field)."""
    return json.dumps(row, ensure_ascii=False, default=str).encode()


# ------------------------------------------------------------------------------------------------
# Writing: the answers arrive in input order, shard after shard
# ------------------------------------------------------------------------------------------------


class ShardWriter:
    """Writes the answers of the pending shards as they arrive, in input order: each shard to its
    partial name, renamed into place (and marked done in the manifest) after its last record. A
    record out of place (a missing, doubled or reordered one) stops the run before it is written."""

    def __init__(self, job: Job, pending: list[tuple[int, Shard, int]]) -> None:
        self.job = job
        self.queue = list(reversed(pending))  # (shard index, shard, records); popped from the end
        self.entries = {e["input"]: e for e in job.manifest.get("shards", [])}
        self.stream: Any = None
        self.shard: Shard | None = None
        self.index, self.records, self.next_line, self.errors = -1, 0, 1, 0
        self._open_next()

    def write(self, shard_index: int, line: int, text: str, error: bool) -> None:
        if shard_index != self.index or line != self.next_line:
            where = f"shard {self.shard.name} line {self.next_line}" if self.shard else "no more records"
            raise RuntimeError(
                f"an answer arrived out of order (shard #{shard_index} line {line}; expected {where}); "
                "the shards written so far are complete, rerun with --resume"
            )
        self.stream.write((text + "\n").encode("utf-8"))
        self.next_line += 1
        self.errors += error
        if self.next_line > self.records:
            self._finish()
            self._open_next()

    def close(self) -> None:
        if self.shard is not None:
            raise RuntimeError(
                f"the run ended at shard {self.shard.name} line {self.next_line} of {self.records}; rerun with --resume"
            )

    def _open_next(self) -> None:
        while self.queue:
            self.index, self.shard, self.records = self.queue.pop()
            self.next_line, self.errors = 1, 0
            fs, partial = self.job.out_fs, partial_path(self.shard.out)
            fs.create_dir(partial.rpartition("/")[0], recursive=True)
            self.stream = fs.open_output_stream(partial, buffer_size=1 << 20)
            if self.records:
                return
            self._finish()  # an empty shard: an empty answers file
        self.shard = None

    def _finish(self) -> None:
        assert self.shard is not None
        self.stream.close()
        self.job.out_fs.move(partial_path(self.shard.out), self.shard.out)
        entry = self.entries.get(self.shard.name)
        if entry is not None:
            entry.update(done=True, records=self.records, errors=self.errors)
        write_manifest(self.job)
