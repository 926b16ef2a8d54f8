"""Where the served model comes from.

``current_model_dir()`` picks the artifact folder that `bentoml serve` and `slant classify/score`
use, first match wins:

1. ``$SLANT_MODEL``: an artifact folder given explicitly;
2. the BentoML model store's ``slant`` model: the version named in the pointer file
   ``<BentoML home>/slant-current`` (written by promote/rollback) if that file exists, else
   ``slant:latest``;
3. the released default model ``models/slant-base`` next to this package (any working directory).

bentoml is imported lazily, inside the functions, so that importing this module stays cheap and a
plain `slant` install without bentoml still finds ``$SLANT_MODEL`` and ``models/slant-base``.
"""

from __future__ import annotations

import os
from pathlib import Path

from slant.files import replaced_atomically
from slant.settings import settings

MODEL_NAME = "slant"
POINTER_FILE = "slant-current"
ENV_MODEL = "SLANT_MODEL"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "slant-base"


class ModelNotFound(RuntimeError):
    """No model artifact could be found; the message lists every place that was tried."""


def bentoml_home() -> Path:
    """The BentoML home folder: $BENTOML_HOME, default ~/bentoml (BentoML's documented rule)."""
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml").expanduser()


def pointer_path() -> Path:
    """The file naming the promoted store version of ``slant`` (one tag per file, e.g. ``slant:abc``)."""
    return bentoml_home() / POINTER_FILE


def _store_model_dir(tried: list[str]) -> Path | None:
    try:
        import bentoml
        from bentoml.exceptions import NotFound
    except ImportError as e:  # a serving-less install: no store to look in
        tried.append(f"BentoML model store: bentoml not importable ({e})")
        return None
    pointer = pointer_path()
    if pointer.is_file():
        tag = read_pointer()["current"] or f"{MODEL_NAME}:latest"  # JSON with history, or a bare tag
        if ":" not in tag:
            tag = f"{MODEL_NAME}:{tag}"
        where = f"BentoML model store {tag} (named in {pointer})"
    else:
        tag = f"{MODEL_NAME}:latest"
        where = f"BentoML model store {tag} (no pointer file {pointer})"
    try:
        return Path(bentoml.models.get(tag).path)
    except NotFound:
        tried.append(f"{where}: not in the store")
    except Exception as e:  # noqa: BLE001 - a broken store must not hide the fallback
        tried.append(f"{where}: {type(e).__name__}: {e}")
    return None


def current_model_dir() -> Path:
    """The artifact folder to serve (see the module doc for the order). Raises ModelNotFound."""
    tried: list[str] = []
    env = settings().model.strip()
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            return path
        tried.append(f"${ENV_MODEL}={env}: no such folder")
        # An explicit choice that does not exist is an error, not a reason to serve another model.
        raise ModelNotFound(
            f"${ENV_MODEL} names {env}, which is not a folder; point it at a model artifact folder "
            "(model.onnx, tokenizer.json, labels.json, ...) or unset it"
        )
    tried.append(f"${ENV_MODEL}: not set")
    found = _store_model_dir(tried)
    if found is not None:
        return found
    if DEFAULT_MODEL_DIR.is_dir():
        return DEFAULT_MODEL_DIR
    tried.append(f"{DEFAULT_MODEL_DIR}: no such folder")
    raise ModelNotFound(
        "no Slant model found; tried, in order:\n  - " + "\n  - ".join(tried) + "\n"
        f"Set ${ENV_MODEL} to an artifact folder, import one into the BentoML store as "
        f"'{MODEL_NAME}', or restore models/slant-base."
    )


# --------------------------------------------------------------------------------------------
# The write side: saving artifacts into the store, promotion and rollback (used by `slant retrain`
# and `slant models ...`).
#
# The pointer file is JSON: {"current": "slant:<version>", "history": ["slant:<older>", ...]}
# (history: previously promoted tags, most recent last, at most HISTORY_MAX). A file holding just a
# tag (an older or hand-written pointer) is read as {"current": <tag>, "history": []}. Every write
# goes to a temp file in the same folder that then replaces the pointer in one os.replace, under
# an flock, so readers see either the old or the new pointer, never a torn one.
# --------------------------------------------------------------------------------------------

HISTORY_MAX = 20


class StoreError(RuntimeError):
    """A store operation that cannot be done as asked (unknown version, nothing to roll back to)."""


def model_tag(version: str) -> str:
    """``slant:<version>`` for a bare version or a full tag."""
    version = version.strip()
    if ":" in version:
        name, _, v = version.partition(":")
        if name != MODEL_NAME:
            raise StoreError(f"{version!r} is not a {MODEL_NAME} model; expected {MODEL_NAME}:<version> or <version>")
        version = v
    if not version:
        raise StoreError("empty model version")
    return f"{MODEL_NAME}:{version}"


def read_pointer() -> dict:
    """The pointer file as {"current": tag or None, "history": [tags, most recent last]}."""
    import json

    path = pointer_path()
    try:
        raw = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return {"current": None, "history": []}
    if not raw:
        return {"current": None, "history": []}
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise StoreError(f"{path} is not valid JSON ({e}); fix it or run `slant models promote VERSION`") from None
        return {"current": data.get("current") or None, "history": list(data.get("history") or [])}
    return {"current": raw if ":" in raw else f"{MODEL_NAME}:{raw}", "history": []}


def _write_pointer(data: dict) -> None:
    import json

    with replaced_atomically(pointer_path(), durable=True) as tmp:
        tmp.write_text(
            json.dumps({"current": data["current"], "history": data["history"][-HISTORY_MAX:]}, indent=1) + "\n",
            encoding="utf-8",
        )


class _PointerLock:
    """An exclusive flock on <pointer>.lock: one promote/rollback at a time across processes."""

    def __enter__(self):
        import fcntl

        path = pointer_path().with_name(POINTER_FILE + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a+")
        fcntl.flock(self._f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self._f, fcntl.LOCK_UN)
        self._f.close()


def _get(tag: str):
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        return bentoml.models.get(tag)
    except NotFound:
        raise StoreError(
            f"{tag} is not in the BentoML model store at {bentoml_home()}; `slant models list` shows what is"
        ) from None


def has_version(version: str) -> bool:
    try:
        _get(model_tag(version))
        return True
    except StoreError:
        return False


def save_artifact(folder: str | Path, version: str, *, metadata: dict | None = None) -> str:
    """Copy a complete artifact folder into the store as ``slant:<version>``; returns the tag.

    The artifact is checked first (all files present and consistent, metrics.json describing its
    model.onnx, ``version`` equal to ``version``). Nothing is promoted: see ``promote``.
    """
    import shutil

    import bentoml

    from slant import artifact as art

    folder = Path(folder)
    loaded = art.load(folder)  # refuses incomplete or inconsistent folders
    tag = model_tag(version)
    if loaded.version != tag.split(":", 1)[1]:
        raise StoreError(f"{folder} holds version {loaded.version!r}, not {tag.split(':', 1)[1]!r}")
    if has_version(version):
        raise StoreError(f"{tag} is already in the store; versions are never overwritten")
    headlines = {
        task: {key: round(float(e["headline"]), 4) for key, e in tm.get("sources", {}).items()}
        for task, tm in loaded.metrics.get("tasks", {}).items()
    }
    meta = {"name": loaded.name, "version": loaded.version, "headline": headlines, **(metadata or {})}
    # bentoml.models.create builds the model in a temp folder and copies it into the store on exit.
    with bentoml.models.create(tag, labels={"kind": "slant-artifact"}, metadata=meta) as model:
        for item in folder.iterdir():
            if item.is_dir():
                shutil.copytree(item, Path(model.path) / item.name)
            else:
                shutil.copy2(item, Path(model.path) / item.name)
    art.load(_get(tag).path)  # the stored copy is whole
    return tag


def model_path(version: str) -> Path:
    """The artifact folder of ``slant:<version>`` in the store."""
    return Path(_get(model_tag(version)).path)


def list_models() -> list[dict]:
    """Every ``slant`` version in the store, oldest first, each {tag, version, created, path,
    size_mb, current, metadata}; ``current`` marks the promoted one. Broken entries (an interrupted
    copy) are listed with an ``error``."""
    import bentoml

    pointer = read_pointer()
    current = pointer["current"]
    if current is None:
        try:  # no pointer: the store's latest is what serving picks
            current = str(bentoml.models.get(f"{MODEL_NAME}:latest").tag)
        except Exception:  # noqa: BLE001
            current = None
    out = []
    root = bentoml_home() / "models" / MODEL_NAME
    versions = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for version in versions:
        tag = f"{MODEL_NAME}:{version}"
        try:
            m = bentoml.models.get(tag)
            path = Path(m.path)
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            out.append(
                {
                    "tag": tag,
                    "version": version,
                    "created": m.creation_time.isoformat(timespec="seconds"),
                    "path": str(path),
                    "size_mb": round(size / 1e6, 1),
                    "current": tag == current,
                    "metadata": dict(m.info.metadata),
                }
            )
        except Exception as e:  # noqa: BLE001 - list what is there, say what is broken
            out.append(
                {
                    "tag": tag,
                    "version": version,
                    "created": "",
                    "path": str(root / version),
                    "size_mb": 0.0,
                    "current": tag == current,
                    "metadata": {},
                    "error": f"{type(e).__name__}: {e}",
                }
            )
    out.sort(key=lambda m: (m["created"], m["version"]))
    return out


def promote(version: str) -> dict:
    """Make ``slant:<version>`` the served model: rewrite the pointer atomically, remembering the
    previous one for ``rollback``. Returns {"previous", "current"}."""
    from slant import artifact as art

    tag = model_tag(version)
    art.load(_get(tag).path)  # never promote a broken artifact
    with _PointerLock():
        pointer = read_pointer()
        previous = pointer["current"]
        if previous == tag:
            return {"previous": previous, "current": tag, "changed": False}
        history = [t for t in pointer["history"]]
        if previous:
            history.append(previous)
        _write_pointer({"current": tag, "history": history})
    return {"previous": previous, "current": tag, "changed": True}


def rollback() -> dict:
    """Back to the previously promoted version (the last one in the pointer's history that is still
    in the store). Returns {"previous", "current"}; raises StoreError when there is none."""
    with _PointerLock():
        pointer = read_pointer()
        history = list(pointer["history"])
        while history:
            candidate = history.pop()
            if has_version(candidate) and candidate != pointer["current"]:
                _write_pointer({"current": candidate, "history": history})
                return {"previous": pointer["current"], "current": candidate, "changed": True}
    raise StoreError(
        f"nothing to roll back to: no earlier promoted version in {pointer_path()} "
        "(`slant models list` shows the versions; `slant models promote VERSION` picks one)"
    )
