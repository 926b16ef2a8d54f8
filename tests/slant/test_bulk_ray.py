"""`slant score --engine ray`: shard layout and resume (no Ray), and the real thing on a two-node
Ray cluster on this machine (slow: one cluster for the module, started with `ray start`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import slant
from slant.bulk_shards import (
    MANIFEST,
    LayoutError,
    ShardWriter,
    plan_job,
    plan_shard,
    read_chunk,
    row_json,
)
from slant.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).parent / "samples"
IDENTITY = {"input": "in", "model": {"name": "m", "version": "1"}, "options": {"max_auto_targets": 5}}


def article(i: int) -> dict:
    text = (SAMPLES / ("news_page.txt", "people.txt", "tweet.txt")[i % 3]).read_text(encoding="utf-8")
    a: dict = {"title": f"Article {i}", "text": text}
    if i % 2:
        a["targets"] = ["the council"]
    return a


def write_jsonl(path: Path, first: int, n: int, bad: tuple[int, ...] = ()) -> None:
    lines = [b'{"text": 42}' if i in bad else json.dumps(article(first + i)).encode() for i in range(n)]
    path.write_bytes(b"\n".join(lines) + b"\n")


def write_parquet(path: Path, first: int, n: int) -> None:
    rows = [article(first + i) for i in range(n)]
    table = pa.table(
        {
            "title": [r["title"] for r in rows],
            "text": [r["text"] for r in rows],
            "targets": [r.get("targets") for r in rows],
        }
    )
    pq.write_table(table, path, row_group_size=5)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------
# Reading shards in chunks (no Ray)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
@pytest.mark.parametrize(
    "data",
    [b"a\nb\n\nc\r\nd", b"a\nb\nc\n", b"", b"\n", b"only", b"x\n" * 7],
    ids=["no-final-newline", "final-newline", "empty", "one-empty-line", "one-line", "seven"],
)
def test_chunks_read_the_lines_the_local_engine_reads(tmp_path, chunk, data):
    import pyarrow.fs as pafs

    from slant.bulk_shards import Shard

    path = tmp_path / "a.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as f:  # what `slant score` (local) reads
        expected = [(n, raw.rstrip(b"\r\n")) for n, raw in enumerate(f, start=1)]
    fs = pafs.LocalFileSystem()
    shard = Shard("a.jsonl", str(path), "jsonl", len(data), str(tmp_path / "out.jsonl"))
    chunks = plan_shard(fs, shard, chunk)
    assert all(c.records <= chunk for c in chunks)
    got = [pair for c in chunks for pair in read_chunk(fs, str(path), "jsonl", c)]
    assert got == expected
    assert sum(c.records for c in chunks) == len(expected)


def test_parquet_rows_become_article_lines(tmp_path):
    import pyarrow.fs as pafs

    from slant.bulk_shards import Shard

    path = tmp_path / "p.parquet"
    write_parquet(path, 0, 10)
    fs = pafs.LocalFileSystem()
    chunks = plan_shard(fs, Shard("p.parquet", str(path), "parquet", 0, ""), 3)
    assert [(c.first, c.records) for c in chunks] == [(1, 3), (4, 3), (7, 3), (10, 1)]
    rows = [pair for c in chunks for pair in read_chunk(fs, str(path), "parquet", c)]
    assert [n for n, _ in rows] == list(range(1, 11))
    first = json.loads(rows[0][1])
    assert first["title"] == "Article 0" and first["targets"] is None and first["text"].startswith("Council")
    assert json.loads(rows[1][1])["targets"] == ["the council"]


def test_parquet_with_other_columns_is_refused(tmp_path):
    import pyarrow.fs as pafs

    from slant.bulk_shards import Shard

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [1], "body": ["x"]}), path)
    with pytest.raises(LayoutError, match=r"columns \['id', 'body'\]; expected the article fields"):
        plan_shard(pafs.LocalFileSystem(), Shard("p.parquet", str(path), "parquet", 0, ""), 10)


# ------------------------------------------------------------------------------------------------
# Layout, manifest and resume (no Ray)
# ------------------------------------------------------------------------------------------------


def shards_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(b'{"text": "x"}\n')
    (folder / "sub" / "b.parquet").write_bytes(b"")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".hidden.jsonl").write_bytes(b"")
    return folder


def test_layout_lists_shards_and_names_outputs(tmp_path):
    folder = shards_folder(tmp_path)
    job = plan_job(str(folder), str(tmp_path / "out"), IDENTITY, resume=False, force=False)
    assert [(s.name, s.kind) for s in job.shards] == [("a.jsonl", "jsonl"), ("sub/b.parquet", "parquet")]
    assert [s.out for s in job.shards] == [str(tmp_path / "out" / "a.jsonl"), str(tmp_path / "out" / "sub" / "b.jsonl")]
    assert job.folder and not job.done


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", r"INPUT .*missing does not exist; expected a JSONL file .* or a folder"),
        ("unknown", r"holds files that are not shards: notes.txt, x.jsonl.gz; expected .*start their names with '_'"),
        ("inside", r"--out .* is inside the input folder .*put the output folder outside"),
        ("same-file", r"--out .* is the input file"),
        ("out-is-file", r"--out .* is a file, but INPUT .* is a folder"),
        ("not-ours", r"already holds 1 entries but no _manifest.json"),
        ("empty", r"holds no shards; expected"),
        ("clash", r"input shards a.jsonl and a.parquet would both write"),
    ],
)
def test_bad_layouts_say_what_and_how_to_fix(tmp_path, case, match):
    folder = shards_folder(tmp_path)
    out = tmp_path / "out"
    inp = str(folder)
    if case == "missing":
        inp = str(tmp_path / "missing")
    elif case == "unknown":
        (folder / "notes.txt").write_text("x")
        (folder / "x.jsonl.gz").write_bytes(b"")
    elif case == "inside":
        out = folder / "answers"
    elif case == "same-file":
        inp = str(folder / "a.jsonl")
        out = folder / "a.jsonl"
    elif case == "out-is-file":
        out.write_text("x")
    elif case == "not-ours":
        out.mkdir()
        (out / "other.txt").write_text("x")
    elif case == "empty":
        inp = str(tmp_path / "empty")
        (tmp_path / "empty").mkdir()
    elif case == "clash":
        (folder / "a.parquet").write_bytes(b"")
    with pytest.raises(LayoutError, match=match):
        plan_job(inp, str(out), IDENTITY, resume=False, force=False)


def finish_shards(job, records: dict[str, list[str]]) -> None:
    """Write answers for some shards as the driver does."""
    pending = [(i, s, len(records[s.name])) for i, s in enumerate(job.shards) if s.name in records]
    writer = ShardWriter(job, pending)
    for i, s, _ in pending:
        for n, text in enumerate(records[s.name], start=1):
            writer.write(i, n, text, False)
    writer.close()


def test_resume_keeps_complete_shards_only(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.jsonl").write_bytes(b"{}\n{}\n")
    out = tmp_path / "out"
    job = plan_job(str(folder), str(out), IDENTITY, resume=False, force=False)
    finish_shards(job, {"a.jsonl": ["1", "2"]})
    (out / ".b.jsonl.partial").write_text("1\n")  # a run killed in shard b
    manifest = json.loads((out / MANIFEST).read_text())
    assert [s["done"] for s in manifest["shards"]] == [True, False, False] and not manifest["complete"]
    assert manifest["shards"][0]["records"] == 2

    with pytest.raises(LayoutError, match="pass --resume to continue it"):
        plan_job(str(folder), str(out), IDENTITY, resume=False, force=False)
    again = plan_job(str(folder), str(out), IDENTITY, resume=True, force=False)
    assert again.done == {"a.jsonl"}
    finish_shards(again, {"b.jsonl": ["3", "4"], "c.jsonl": ["5", "6"]})
    assert (out / "b.jsonl").read_text() == "3\n4\n" and not (out / ".b.jsonl.partial").exists()
    assert json.loads((out / MANIFEST).read_text())["complete"]
    assert plan_job(str(folder), str(out), IDENTITY, resume=True, force=False).done == {"a.jsonl", "b.jsonl", "c.jsonl"}

    other = {**IDENTITY, "options": {"max_auto_targets": 2}}
    with pytest.raises(LayoutError, match="was made with options .* pass --force"):
        plan_job(str(folder), str(out), other, resume=True, force=False)
    (folder / "b.jsonl").write_bytes(b"{}\n{}\n{}\n")  # an input shard that changed is scored again
    assert plan_job(str(folder), str(out), IDENTITY, resume=True, force=False).done == {"a.jsonl", "c.jsonl"}
    assert not plan_job(str(folder), str(out), IDENTITY, resume=False, force=True).done

    # Killed between a shard's rename and the manifest's update: that shard is scored again.
    assert (out / "c.jsonl").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["shards"][2]["done"] = False
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert plan_job(str(folder), str(out), IDENTITY, resume=True, force=False).done == {"a.jsonl"}


def test_writer_refuses_records_out_of_order(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"{}\n{}\n")
    job = plan_job(str(folder), str(tmp_path / "out"), IDENTITY, resume=False, force=False)
    writer = ShardWriter(job, [(0, job.shards[0], 2)])
    writer.write(0, 1, "x", False)
    with pytest.raises(RuntimeError, match="out of order .* expected shard a.jsonl line 2"):
        writer.write(0, 3, "y", False)
    with pytest.raises(RuntimeError, match="ended at shard a.jsonl line 2 of 2"):
        writer.close()
    assert not (tmp_path / "out" / "a.jsonl").exists()


@pytest.mark.parametrize(
    "resources, device, actors, expected",
    [
        ({"CPU": 16, "GPU": 2}, None, None, {"device": "cuda", "actors": 2, "num_gpus": 1, "actor_cpus": 1.0}),
        ({"CPU": 16, "GPU": 2}, None, 1, {"device": "cuda", "actors": 1}),
        ({"CPU": 16, "GPU": 2}, "cpu", None, {"device": "cpu", "actors": 16, "num_gpus": 0}),
        ({"CPU": 8}, None, None, {"device": "cpu", "actors": 8, "actor_cpus": 0.8, "task_cpus": 0.2}),
        ({"CPU": 8}, None, 3, {"device": "cpu", "actors": 3}),
        ({"CPU": 8}, None, 9, "more than the cluster's 8 CPUs"),
        ({"CPU": 8}, "cuda", None, "SLANT_DEVICE is cuda, but the Ray cluster has no GPUs"),
    ],
)
def test_actor_plan_puts_the_model_on_gpus_where_there_are_some(monkeypatch, resources, device, actors, expected):
    ray = pytest.importorskip("ray")
    from slant import bulk_ray

    monkeypatch.setattr(ray, "cluster_resources", lambda: resources)
    if device:
        monkeypatch.setenv("SLANT_DEVICE", device)
    else:
        monkeypatch.delenv("SLANT_DEVICE", raising=False)
    if isinstance(expected, str):
        with pytest.raises(LayoutError, match=expected):
            bulk_ray.actor_plan(actors)
    else:
        plan = bulk_ray.actor_plan(actors)
        assert {k: plan[k] for k in expected} == expected


# ------------------------------------------------------------------------------------------------
# The command line without a cluster
# ------------------------------------------------------------------------------------------------


def test_engine_ray_without_ray_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.delitem(sys.modules, "slant.bulk_ray", raising=False)
    # `from slant import bulk_ray` finds the package's attribute even without the sys.modules entry
    monkeypatch.delattr(slant, "bulk_ray", raising=False)
    (tmp_path / "a.jsonl").write_text("{}\n")
    r = invoke("score", tmp_path / "a.jsonl", "--out", tmp_path / "o.jsonl", "--engine", "ray")
    assert r.exit_code != 0 and "pip install 'slant[scale]'" in r.output and "ray is not installed" in r.output


def test_local_engine_refuses_ray_options_and_folders(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    r = invoke("score", tmp_path / "a.jsonl", "--out", tmp_path / "o.jsonl", "--address", "auto")
    assert r.exit_code != 0 and "--address is for --engine ray" in r.output
    r = invoke("score", tmp_path, "--out", tmp_path / "o.jsonl")
    assert r.exit_code != 0 and "is a folder; the local engine reads one JSONL file" in r.output
    r = invoke("score", tmp_path / "nope.jsonl", "--out", tmp_path / "o.jsonl")
    assert r.exit_code != 0 and "does not exist" in r.output


def test_local_engine_does_not_import_ray(artifact, tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "The council approved the barrier."}\n')
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom slant.cli import main\n"
        f"r = CliRunner().invoke(main, ['score', {str(tmp_path / 'a.jsonl')!r}, '--out', "
        f"{str(tmp_path / 'o.jsonl')!r}, '--model', {str(artifact)!r}])\n"
        "assert r.exit_code == 0, r.output\nassert 'ray' not in sys.modules, 'ray imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def artifact(request) -> Path:
    """As in tests/slant/cli/test_scoring.py: $SLANT_TEST_ARTIFACT, /tmp/tiny/artifact, else the tiny one."""
    from slant.artifact import ArtifactError, load

    if os.environ.get("SLANT_TEST_ARTIFACT"):
        return Path(os.environ["SLANT_TEST_ARTIFACT"])
    try:
        load("/tmp/tiny/artifact")
        return Path("/tmp/tiny/artifact")
    except ArtifactError:
        return Path(request.getfixturevalue("tiny_artifact"))


# ------------------------------------------------------------------------------------------------
# A two-node Ray cluster on this machine
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head and a worker node on this machine, one CPU and a 100 MB object store each
    ($SLANT_TEST_RAY_ADDRESS: a running two-node cluster instead)."""
    pytest.importorskip("ray")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.ray_score import LocalCluster

    if os.environ.get("SLANT_TEST_RAY_ADDRESS"):
        yield {"address": os.environ["SLANT_TEST_RAY_ADDRESS"]}
        return

    temp_dir = tmp_path_factory.mktemp("ray")
    if len(str(temp_dir)) > 60:  # Ray's socket paths under it must stay under 108 characters
        temp_dir = None  # a short one of its own under /tmp
    with LocalCluster([1, 1], object_store_bytes=100_000_000, temp_dir=temp_dir) as c:
        yield {"address": c.address, "temp_dir": c.temp_dir}


def score_ray(*args, address: str, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "slant.cli", "score", *map(str, args), "--engine", "ray", "--address", address]
    from bench.ray_score import RAY_ENV

    env = {**os.environ, **RAY_ENV}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def differences(a, b, path="") -> list[str]:
    """Where two answers differ (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} vs {sorted(b)}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


# A pass's scores do not depend on what it is batched with, or on threads (slant/predictor.py): the
# Ray actors (one thread, --batch records per call) match the local engine (all cores) byte for byte.
BATCH = 4


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """Three shards: JSONL with a bad line, JSONL, Parquet (in row groups of 5); not multiples of BATCH."""
    folder = tmp_path_factory.mktemp("shards")
    write_jsonl(folder / "a.jsonl", 0, 11, bad=(3,))
    write_jsonl(folder / "b.jsonl", 100, 6)
    write_parquet(folder / "c.parquet", 200, 13)
    return folder


@pytest.fixture(scope="module")
def local_answers(shards, artifact, tmp_path_factory) -> dict[str, list[str]]:
    """Each shard scored by the local `slant score` (a Parquet shard as the JSON lines of its rows)."""
    out = tmp_path_factory.mktemp("local")
    answers = {}
    for name in ("a.jsonl", "b.jsonl", "c.parquet"):
        src = shards / name
        if name.endswith(".parquet"):
            src = out / "c-rows.jsonl"
            src.write_bytes(b"".join(row_json(r) + b"\n" for r in pq.read_table(shards / name).to_pylist()))
        target = out / name.replace(".parquet", ".jsonl")
        r = invoke("score", src, "--out", target, "--model", artifact, "--batch", BATCH)
        assert r.exit_code == 0, r.output
        answers[target.name] = target.read_text(encoding="utf-8").splitlines()
    return answers


def check_against_local(out: Path, local_answers: dict[str, list[str]]) -> None:
    """Every answers shard equals the local engine's on its shard, byte for byte."""
    for name, expected in local_answers.items():
        got = (out / name).read_text(encoding="utf-8").splitlines()
        assert len(got) == len(expected), name
        for n, (g, e) in enumerate(zip(got, expected), start=1):
            assert g == e, f"{name} line {n}: {differences(json.loads(g), json.loads(e))[:5]}"


@pytest.mark.slow
def test_two_nodes_score_as_the_local_engine(cluster, shards, artifact, local_answers, tmp_path):
    out = tmp_path / "out"
    p = score_ray(shards, "--out", out, "--model", artifact, "--batch", BATCH, address=cluster["address"])
    log = p.communicate(timeout=600)[0].decode()
    assert p.returncode == 0, log
    check_against_local(out, local_answers)
    assert json.loads((out / "a.jsonl").read_text().splitlines()[3]) == {
        "line": 4,
        "error": "text: Input should be a valid string",
    }
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and [s["records"] for s in manifest["shards"]] == [11, 6, 13]
    nodes = manifest["runs"][-1]["nodes"]
    assert len(nodes) == 2, f"work ran on {nodes}"  # both nodes took tasks or actors
    assert "articles/s" in log and "on 2 nodes" in log
    print(log.strip().splitlines()[-1])


@pytest.mark.slow
def test_one_file_in_one_file_out(cluster, shards, artifact, local_answers, tmp_path):
    out = tmp_path / "answers" / "b.jsonl"
    p = score_ray(shards / "b.jsonl", "--out", out, "--model", artifact, "--batch", BATCH, address=cluster["address"])
    log = p.communicate(timeout=600)[0].decode()
    assert p.returncode == 0, log
    assert out.read_text(encoding="utf-8").splitlines() == local_answers["b.jsonl"]
    assert not list(out.parent.glob(".*"))  # no manifest, no partial file: the file is the whole answer
    again = score_ray(shards / "b.jsonl", "--out", out, "--model", artifact, address=cluster["address"])
    assert again.wait(timeout=300) != 0  # refuses to overwrite without --resume or --force


def short_articles(path: Path, first: int, n: int) -> None:
    """``n`` one-paragraph articles with their target given (no NER): many records, quickly scored."""
    rows = [
        {
            "title": f"Short {first + i}",
            "text": f"The council voted {i} times on the barrier.",
            "targets": ["the council"],
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def done_shards(out: Path) -> list[str]:
    """The shards the manifest marks done (the commit point: renamed into place, then marked)."""
    try:
        return sorted(s["input"] for s in json.loads((out / MANIFEST).read_text())["shards"] if s["done"])
    except (OSError, ValueError):
        return []


@pytest.mark.slow
def test_killed_run_resumes_without_duplicates(cluster, artifact, tmp_path):
    """kill -9 once the first shard is complete; --resume keeps it and redoes the others, whole."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    sizes = {"a.jsonl": 4, "b.jsonl": 160, "c.jsonl": 160}  # b and c take seconds: the kill lands before them
    for k, (name, n) in enumerate(sizes.items()):
        short_articles(folder / name, 1000 * k, n)
    args = (folder, "--out", out, "--model", artifact, "--batch", BATCH, "--actors", 1)
    p = score_ray(*args, address=cluster["address"])
    deadline = time.monotonic() + 600
    while not done_shards(out) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    done_at_kill = done_shards(out)
    assert done_at_kill and done_at_kill != sorted(sizes), done_at_kill  # killed halfway
    assert all((out / name).exists() for name in done_at_kill)

    again = score_ray(*args, "--resume", address=cluster["address"])
    log = again.communicate(timeout=600)[0].decode()
    assert again.returncode == 0, log
    assert f"{len(done_at_kill)} shards already done" in log
    for k, (name, n) in enumerate(sizes.items()):
        titles = [json.loads(x)["title"] for x in (out / name).read_text(encoding="utf-8").splitlines()]
        assert titles == [f"Short {1000 * k + i}" for i in range(n)], name  # each record once, in order
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and [s["records"] for s in manifest["shards"]] == list(sizes.values())
    assert not list(out.glob(".*.partial"))
