"""`slant score --engine ray`: the local `slant score` (slant/bulk.py) spread over a Ray cluster.

The run is a Ray Data pipeline over chunks of the input shards (slant/bulk_shards.py), in order:

1. plan: one CPU task per shard counts its records and cuts it into chunks of about
   ``CHUNK_RECORDS`` (a multiple of ``--batch``);
2. intake: one CPU task per chunk reads its lines and parses them, automatic targets included
   (``slant.bulk.intake``); a bad line becomes its error record here;
3. model: an actor pool, one onnxruntime session per actor, loaded once; each chunk is scored
   ``--batch`` records at a time (``slant.bulk.model_scores``), the same groups of articles as the
   local engine's. On a cluster with GPUs, one actor per GPU (``num_gpus=1``, the CUDA provider);
   otherwise single-threaded CPU actors, up to one per CPU (``actor_plan``);
4. answer: CPU tasks build each article's /classify answer from its scores (``slant.bulk.answer``).

The driver receives the answers in input order (Ray Data's ``preserve_order``) and writes them, one
output shard per input shard, each renamed into place when complete (``ShardWriter``), so the
records are those of the local `slant score` on each shard, in the same order (the scores equal to
the last bit where the local run has one thread, as each actor has; otherwise within the int8
model's batch noise, docs/scale.md). The model folder travels with the job (through the object
store), so workers need slant installed but not the model.

Ray is imported here only: the local engine never loads it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from slant.artifact import FILES, MODEL, Artifact, load, sha256
from slant.bulk import Parsed, answer, intake, is_error, model_scores
from slant.bulk_shards import Chunk, Job, LayoutError, ShardWriter, plan_shard, read_chunk, write_manifest
from slant.intake import Limits
from slant.predictor import Predictor
from slant.requests import Options
from slant.settings import settings

CHUNK_RECORDS = 256  # about this many records per intake task: seconds of parsing, few enough tasks for 10M articles


def chunk_records(batch: int) -> int:
    """Records per chunk (one chunk is one Ray Data block): a multiple of ``batch``, so that each
    model call but a shard's last takes ``batch`` records, as ``--batch`` says."""
    return max(1, CHUNK_RECORDS // batch) * batch


# ------------------------------------------------------------------------------------------------
# The model, shipped to the workers
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """An artifact in the object store: its model's SHA-256 and a reference to its files' bytes."""

    sha: str
    files: Any  # ray.ObjectRef of {file name: bytes}


def ship_model(artifact: Artifact) -> ModelRef:
    files = {name: (artifact.path / name).read_bytes() for name in FILES}
    return ModelRef(sha256(artifact.path / MODEL), ray.put(files))


_ARTIFACTS: dict[str, Artifact] = {}  # per worker process


def local_artifact(model: ModelRef) -> Artifact:
    """The shipped artifact, written once per node (under the temp folder) and loaded once per process."""
    if model.sha in _ARTIFACTS:
        return _ARTIFACTS[model.sha]
    folder = Path(tempfile.gettempdir()) / f"slant-model-{model.sha[:16]}"
    if not folder.is_dir():  # written whole under a temporary name, then renamed: complete if there
        files = ray.get(model.files)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        try:
            os.rename(tmp, folder)
        except OSError:  # another worker on this node was first
            shutil.rmtree(tmp, ignore_errors=True)
    _ARTIFACTS[model.sha] = load(folder)
    return _ARTIFACTS[model.sha]


def _node() -> str:
    return ray.get_runtime_context().get_node_id()


# ------------------------------------------------------------------------------------------------
# The stages (run on the workers)
# ------------------------------------------------------------------------------------------------


def intake_stage(batch: pa.Table, fs: Any, options: Options, limits: Limits) -> pa.Table:
    """Chunks (one row each) -> one row per record: ``payload`` the pickled Parsed, or ``out`` the
    error record."""
    shard: list[int] = []
    line: list[int] = []
    payload: list[bytes | None] = []
    out: list[str | None] = []
    for row in batch.to_pylist():
        chunk = Chunk(row["first"], row["start"], row["end"], row["records"])
        lines = read_chunk(fs, row["path"], row["kind"], chunk)
        if len(lines) != chunk.records:
            raise LayoutError(
                f"shard {row['path']} changed while it was scored (lines {chunk.first}..: {len(lines)} "
                f"records, {chunk.records} when planned); rerun with --resume once it stays put"
            )
        for item in intake(lines, options, limits):
            shard.append(row["shard"])
            if isinstance(item, Parsed):
                line.append(item.line)
                payload.append(pickle.dumps(item, protocol=5))
                out.append(None)
            else:
                line.append(item["line"])
                payload.append(None)
                out.append(json.dumps(item, ensure_ascii=False))
    return pa.table(
        {
            "shard": pa.array(shard, pa.int32()),
            "line": pa.array(line, pa.int64()),
            "payload": pa.array(payload, pa.binary()),
            "out": pa.array(out, pa.string()),
            "intake_node": pa.array([_node()] * len(shard), pa.string()),
        }
    )


class ScoreActor:
    """One onnxruntime session, loaded once. Each call takes one chunk and scores it ``batch`` records
    at a time (``--batch``: what one model call holds in memory; scores do not depend on it)."""

    def __init__(self, model: ModelRef, device: str, threads: int, batch: int) -> None:
        self.predictor = Predictor(local_artifact(model), device=device, threads=threads)
        self.node, self.batch = _node(), batch

    def __call__(self, chunk: pa.Table) -> pa.Table:
        payloads = chunk.column("payload").to_pylist()
        scored: list[bytes | None] = [None] * len(payloads)  # the scores only: the payload travels on as it came
        for start in range(0, len(payloads), self.batch):
            todo = [i for i in range(start, min(start + self.batch, len(payloads))) if payloads[i] is not None]
            parsed = [pickle.loads(payloads[i]) for i in todo]
            for i, scores in zip(todo, model_scores(self.predictor, parsed)):
                scored[i] = pickle.dumps(scores, protocol=5)
        chunk = chunk.append_column("scores", pa.array(scored, pa.binary()))
        return chunk.append_column("score_node", pa.array([self.node] * chunk.num_rows, pa.string()))


def answer_stage(batch: pa.Table, model: ModelRef, options: Options) -> pa.Table:
    """Scored articles -> their answer JSON lines (``out``), with ``error`` and ``paragraphs``."""
    artifact = local_artifact(model)
    outs = batch.column("out").to_pylist()
    errors, paragraphs = [], []
    for i, (payload, scores) in enumerate(zip(batch.column("payload").to_pylist(), batch.column("scores").to_pylist())):
        if payload is None:  # an intake error record
            errors.append(True)
            paragraphs.append(0)
            continue
        parsed = pickle.loads(payload)
        record = answer(artifact, options, parsed, pickle.loads(scores))
        outs[i] = json.dumps(record, ensure_ascii=False)
        errors.append(is_error(record))
        paragraphs.append(0 if errors[-1] else len(record["paragraphs"]))
    batch = batch.drop_columns(["payload", "scores"])
    batch = batch.set_column(batch.schema.get_field_index("out"), "out", pa.array(outs, pa.string()))
    return batch.append_column("error", pa.array(errors, pa.bool_())).append_column(
        "paragraphs", pa.array(paragraphs, pa.int32())
    )


# ------------------------------------------------------------------------------------------------
# The driver
# ------------------------------------------------------------------------------------------------


class ClusterError(RuntimeError):
    """No Ray cluster to run on; the message says which address was tried and what to do."""


def connect(address: str | None) -> str:
    """Join the cluster at ``address`` (or $RAY_ADDRESS), else start a local Ray for this run."""
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    kwargs: dict[str, Any] = {"address": target, "logging_level": logging.WARNING}
    if target == "local":
        kwargs["include_dashboard"] = False
    try:
        ray.init(**kwargs)
    except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, ValueError or a bare Exception
        what = "start a local Ray" if target == "local" else f"join the Ray cluster at {target}"
        raise ClusterError(
            f"could not {what}: {type(e).__name__}: {e}; check the address (`ray status --address ...` on "
            "a node), or leave --address and $RAY_ADDRESS unset to run on a local Ray"
        ) from None
    return "a local Ray started for this run" if target == "local" else f"the Ray cluster at {target}"


def actor_plan(actors: int | None) -> dict[str, Any]:
    """How the model actors are placed: one per GPU with the CUDA provider where the cluster has GPUs
    (and $SLANT_DEVICE is not cpu); otherwise single-threaded CPU actors."""
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    device = settings().device
    if device == "cuda" and not gpus:
        raise LayoutError("SLANT_DEVICE is cuda, but the Ray cluster has no GPUs; unset it or add GPU nodes")
    if gpus and device != "cpu":  # the model on the GPUs; parsing and answers are the CPUs' work
        n = actors or gpus
        return {"device": "cuda", "actors": n, "num_gpus": 1, "actor_cpus": 1.0, "task_cpus": 1.0}
    # CPU: each actor scores one batch at a time on one core (the Predictor's own choice on CPU:
    # single-threaded sessions side by side), one per CPU for the whole run. A pool left to grow or
    # shrink idles cores: Ray Data scaled it down to one actor while the first chunks were still in
    # intake, and kept it there (600 articles on 2 CPUs: 3.8 articles/s against the local 8.4). The model is
    # ~94% of the CPU time (slant-base, one thread: model 42 s, answers 2.0 s, intake 0.8 s for 64
    # articles), so the actors reserve 0.8 CPU each and the intake and answer tasks 0.2: even with an
    # actor on every CPU, tasks can still run to feed them.
    if actors and actors > cpus:
        raise LayoutError(
            f"--actors {actors} is more than the cluster's {cpus} CPUs; use at most {cpus}, or leave "
            "--actors out for one actor per CPU"
        )
    return {
        "device": "cpu",
        "actors": actors or cpus,
        "num_gpus": 0,
        "actor_cpus": 0.8,
        "task_cpus": 0.2,
    }


def build_dataset(
    job: Job,
    plans: list[tuple[int, list[Chunk]]],
    model: ModelRef,
    options: Options,
    limits: Limits,
    batch: int,
    placement: dict[str, Any],
):
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # answers in input order: the writer relies on it
    ctx.enable_progress_bars = False  # the driver shows its own (articles/s, ETA) ...
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # ... and says so once
    chunks = [
        {"shard": i, "path": job.shards[i].path, "kind": job.shards[i].kind, **vars(c)}
        for i, shard_chunks in plans
        for c in shard_chunks
    ]
    ds: Any = ray.data.from_items(chunks, override_num_blocks=len(chunks))  # Any: Ray's UDF types want fn(batch)
    ds = ds.map_batches(
        intake_stage,
        batch_size=None,
        batch_format="pyarrow",
        num_cpus=placement["task_cpus"],
        fn_kwargs={"fs": job.in_fs, "options": options, "limits": limits},
    )
    # Ray Data would fuse the intake tasks into the actors if both asked for the same resources;
    # they never do (0.2 and 0.8 CPU, or a GPU), so intake stays in CPU tasks of its own.
    ds = ds.map_batches(  # one chunk (one block) per call: ScoreActor cuts it into model batches itself
        ScoreActor,
        batch_size=None,
        batch_format="pyarrow",
        fn_constructor_kwargs={"model": model, "device": placement["device"], "threads": 1, "batch": batch},
        compute=ray.data.ActorPoolStrategy(size=placement["actors"]),  # fixed: see actor_plan
        num_cpus=placement["actor_cpus"],
        num_gpus=placement["num_gpus"],
    )
    return ds.map_batches(
        answer_stage,
        batch_size=None,
        batch_format="pyarrow",
        num_cpus=placement["task_cpus"],
        fn_kwargs={"model": model, "options": options},
    )


def plan_shards(job: Job, pending: list[int], batch: int) -> list[tuple[int, list[Chunk]]]:
    """Each pending shard's chunks, counted by CPU tasks on the cluster (in parallel)."""
    task = ray.remote(num_cpus=0.2)(plan_shard)  # mostly reading
    refs = [task.remote(job.in_fs, job.shards[i], chunk_records(batch)) for i in pending]
    try:
        return list(zip(pending, ray.get(refs)))
    except Exception as e:
        _raise_layout_error(e)
        raise


def _raise_layout_error(e: BaseException | None) -> None:
    """Raise the LayoutError a task raised, out of Ray's wrappers (its message is for the user)."""
    for _ in range(10):
        if e is None:
            return
        if isinstance(e, LayoutError) and not isinstance(e, ray.exceptions.RayError):
            raise LayoutError(str(e)) from None
        e = getattr(e, "cause", None) or e.__cause__


def run(
    job: Job,
    artifact: Artifact,
    options: Options,
    limits: Limits,
    *,
    address: str | None,
    actors: int | None,
    batch: int,
    echo=print,
) -> dict:
    """Score the job's pending shards on Ray; returns the run's summary (also kept in the manifest)."""
    from tqdm import tqdm

    pending = [i for i, s in enumerate(job.shards) if s.name not in job.done]
    write_manifest(job)  # before Ray starts: an output that cannot be written fails at once
    where = connect(address)
    try:
        placement = actor_plan(actors)
        echo(
            f"on {where}: {len(pending)} of {len(job.shards)} shards to score; "
            f"model actors: {placement['actors']} ({placement['device']})"
        )
        started = time.perf_counter()
        plans = plan_shards(job, pending, batch)
        total = sum(c.records for _, chunks in plans for c in chunks)
        writer = ShardWriter(job, [(i, job.shards[i], sum(c.records for c in chunks)) for i, chunks in plans])
        tally: Counter[str] = Counter()
        nodes: dict[str, Counter[str]] = {}
        bar = tqdm(total=total, unit="article", desc="scoring", mininterval=1.0, smoothing=0.1)
        if total:
            model = ship_model(artifact)
            ds = build_dataset(job, plans, model, options, limits, batch, placement)
            try:
                for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                    _write(writer, table, tally, nodes)
                    bar.update(table.num_rows)
            except Exception as e:
                _raise_layout_error(e)
                raise
        writer.close()
        bar.close()
        elapsed = time.perf_counter() - started
    finally:
        ray.shutdown()
    summary = {
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shards": len(pending),
        "records": total,
        "articles": tally["articles"],
        "paragraphs": tally["paragraphs"],
        "errors": tally["errors"],
        "seconds": round(elapsed, 2),
        "nodes": {node: dict(counts) for node, counts in sorted(nodes.items())},
    }
    job.manifest.setdefault("runs", []).append(summary)
    write_manifest(job)
    return summary


def _write(writer: ShardWriter, table: pa.Table, tally: Counter[str], nodes: dict[str, Counter[str]]) -> None:
    columns = table.to_pydict()
    for shard, line, out, error, paragraphs in zip(
        columns["shard"], columns["line"], columns["out"], columns["error"], columns["paragraphs"]
    ):
        writer.write(shard, line, out, error)
        tally["errors" if error else "articles"] += 1
        tally["paragraphs"] += paragraphs
    for stage in ("intake", "score"):
        for node, n in Counter(columns[f"{stage}_node"]).items():
            nodes.setdefault(node, Counter())[stage] += n
