"""`slant train`: multi-task fine-tuning, top to bottom.

1. read the corpus and encode it with slant's tokenization rule;
2. build the model (package encoder + heads), or resume from the last checkpoint;
3. each step draws one task by its share and one length-bucketed batch of it;
   frames alternate paragraph batches with article bags (multi-instance: max over paragraphs);
4. evaluate on dev and checkpoint every `eval_every` steps; the checkpoint carries its config.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from slant.files import replaced_atomically
from slant.labels import TASKS, schemas_json
from training.config import TrainConfig
from training.examples import Example, load_examples, make_encoder
from training.losses import bag_loss, collate, task_loss
from training.machine import cpu_flags, hardware
from training.metrics import task_scores
from training.model import SlantModel, build_encoder, encoder_from_config

CHECKPOINT = "checkpoint.pt"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast where the hardware computes bf16 natively (AMX or AVX512-BF16 on CPU)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


def stance_weights(examples: list[Example], balance: float, device: torch.device) -> torch.Tensor | None:
    """Per-class loss weights, (largest class / class count) ** balance: the neutral-heavy
    corpus otherwise teaches the head to answer "neutral" when the text takes a side."""
    if balance <= 0 or not examples:
        return None
    counts = np.bincount([int(e.label) for e in examples], minlength=len(TASKS["stance"].labels))
    weights = (counts.max() / np.maximum(counts, 1)) ** balance
    return torch.tensor(weights / weights.mean(), dtype=torch.float32, device=device)


def length_batches(examples: list[Example], batch_size: int, rng: random.Random):
    """Endless batches of similar length: shuffle, sort within pools of 50 batches, shuffle batches."""
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        pool = batch_size * 50
        batches: list[list[int]] = []
        for p in range(0, len(order), pool):
            chunk = sorted(order[p : p + pool], key=lambda i: len(examples[i].input_ids))
            batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
        rng.shuffle(batches)
        for batch in batches:
            yield [examples[i] for i in batch]


def bag_batches(examples: list[Example], bag_size: int, bags: int, rng: random.Random):
    """Endless batches of ``bags`` article bags, each up to ``bag_size`` of its paragraphs."""
    articles = defaultdict(list)
    for e in examples:
        articles[e.article_id].append(e)
    ids = sorted(articles)
    while True:
        rng.shuffle(ids)
        for b in range(0, len(ids) - bags + 1, bags):
            batch = []
            for a in ids[b : b + bags]:
                paragraphs = articles[a]
                batch.append(rng.sample(paragraphs, min(bag_size, len(paragraphs))))
            yield batch


@torch.no_grad()
def predict_logits(
    model: SlantModel, examples: list[Example], pad_id: int, device, batch_size: int = 64
) -> list[list[np.ndarray]]:
    """Per head, the logits of each example (first window), in order."""
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    heads: list[list] = [[None] * len(examples) for _ in model.output_names]
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        outputs = model(**collate([examples[i] for i in idx], pad_id, device))
        for h, out in enumerate(outputs):
            out = out.float().cpu().numpy()
            for row, i in enumerate(idx):
                heads[h][i] = out[row]
    model.train()
    return heads


def evaluate_dev(model, data, pad_id, device, limit: int | None, seed: int) -> dict:
    """Headline dev score per task (first window, raw logits, default thresholds)."""
    scores = {}
    for task, splits in data.items():
        dev = splits["dev"]
        if limit and len(dev) > limit:
            dev = random.Random(seed).sample(dev, limit)
        logits = predict_logits(model, dev, pad_id, device)[model.task_names.index(task)]
        scores[task] = task_scores(TASKS[task], dev, np.stack(logits))["headline"]
    return scores


def save_checkpoint(
    path: Path, model, optimizer, scheduler, step: int, config: TrainConfig, history: list, rng_state
) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "config": config.to_dict(),
        "encoder_config": model.encoder.config.to_dict(),
        "tasks": schemas_json(),
        "history": history,
        "rng": rng_state,
    }
    with replaced_atomically(path) as tmp:  # a kill mid-save leaves the previous checkpoint whole
        torch.save(state, tmp)


TRAINING = "training.json"  # in an artifact: what rebuilds its torch model
WEIGHTS = "weights.safetensors"  # in an artifact, optional: its exact fp16 training weights


def load_model(source: str | Path, device="cpu") -> tuple[SlantModel, dict]:
    """A trained model and its state (config included), for export, evaluation and retraining.

    ``source``: a checkpoint file, or an artifact folder: its ``training.json`` rebuilds the model;
    the weights are ``weights.safetensors`` where the folder has them (exports write them; the
    released model in git leaves them out for size), else ``model.onnx``'s, dequantized where the
    graph is int8 (the served weights).
    """
    from slant.labels import tasks_from_json

    source = Path(source)
    if source.is_dir():
        if not (source / TRAINING).exists():
            raise FileNotFoundError(
                f"{source} carries no {TRAINING}; retraining needs an artifact made by `slant export` "
                "or a training checkpoint.pt"
            )
        state = json.loads((source / TRAINING).read_text())
        if (source / WEIGHTS).exists():
            from safetensors.torch import load_file

            state["model"] = {k: v.float() for k, v in load_file(str(source / WEIGHTS)).items()}
        else:
            from training.onnx_weights import weights_from_onnx

            state["model"] = {k: torch.from_numpy(v) for k, v in weights_from_onnx(source / "model.onnx").items()}
    else:
        state = torch.load(source, map_location=device, weights_only=False)
    # Models made before mention marking read unmarked pairs; their retraining must too.
    state["config"].setdefault("mark_mentions", False)
    model = SlantModel(
        encoder_from_config(state["encoder_config"]), tasks_from_json(state["tasks"]), state["config"]["dropout"]
    )
    # Buffers (position ids) come from the model's own init; every parameter must be found.
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    lost = [k for k in missing if k in dict(model.named_parameters())]
    if lost or unexpected:
        raise ValueError(f"{source}: weights do not fit the model: missing {lost[:5]}, unexpected {unexpected[:5]}")
    return model.to(device).eval(), state


def save_weights(model: SlantModel, path: Path) -> None:
    """fp16 training weights: half the size of fp32, the same fine-tuning start."""
    from safetensors.torch import save_file

    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}, str(path))


def training_json(state: dict) -> dict:
    """The part of a training state that rebuilds the model (no weights)."""
    return {key: state[key] for key in ("encoder_config", "tasks", "config")}


def train(config: TrainConfig, resume: bool = False) -> Path:
    """Train; returns the checkpoint path. ``resume`` continues from out_dir's checkpoint."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = pick_device(config.device)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT

    encoder = make_encoder(config)
    t0 = time.time()
    data = load_examples(config, encoder)
    sizes = {t: {s: len(v) for s, v in d.items()} for t, d in data.items()}
    print(f"examples {json.dumps(sizes)} (encoded in {time.time() - t0:.0f}s)")
    if config.teacher_labels:
        from training.distill import attach_teacher_labels

        attached = attach_teacher_labels(data, config, encoder)
        print(f"teacher labels from {config.teacher_labels}: {attached}, weights {config.distill}")

    if config.init_checkpoint:
        model, _ = load_model(config.init_checkpoint, device)
        model.train()
    else:
        model = SlantModel(build_encoder(config.base_model), TASKS, config.dropout).to(device)
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": config.lr},
            {"params": head_params, "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    warmup = max(1, int(config.warmup * config.steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, 0.5 * (1 + math.cos(math.pi * min(1.0, s / config.steps)))),
    )
    step, history = 0, []
    rng = random.Random(config.seed)
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history = state["step"], state["history"]
        rng.setstate(state["rng"])
        print(f"resumed from {checkpoint} at step {step}")

    streams: dict[str, Iterator[list[Example]]] = {}
    bag_stream: Iterator[list[list[Example]]] | None = None
    for task, splits in data.items():
        train_set = splits["train"]
        if task == "frames":
            articles = [e for e in train_set if e.level == "article"]
            bag_stream = bag_batches(articles, config.bag_size, config.bags_per_batch, rng) if articles else None
            train_set = [e for e in train_set if e.level == "paragraph"]
        if train_set:
            streams[task] = length_batches(train_set, config.batch_size, rng)
    news = data.get("stance", {}).get("news")
    news_stream = length_batches(news, config.batch_size, rng) if news else None
    tasks = [t for t in data if t in config.task_shares]
    shares = np.array([config.task_shares[t] for t in tasks], dtype=float)
    shares /= shares.sum()
    pad_id = encoder.pad_id
    weights = stance_weights(data["stance"]["train"], config.stance_balance, device) if "stance" in data else None
    bf16 = use_bf16(config.precision, device)
    print(
        f"precision: {'bf16 autocast' if bf16 else 'fp32'}; stance class weights: "
        f"{None if weights is None else [round(w, 3) for w in weights.tolist()]}"
    )

    model.train()
    t_start = time.time()
    bar = tqdm(total=config.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    running: defaultdict[str, float] = defaultdict(float)
    while step < config.steps:
        task = tasks[int(np.searchsorted(np.cumsum(shares), rng.random()))]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if task == "frames" and bag_stream is not None and ("frames" not in streams or rng.random() < 0.5):
                loss = bag_loss(model, next(bag_stream), pad_id, device)
            elif task == "stance" and news_stream is not None and rng.random() < config.news_share:
                loss = task_loss(model, task, next(news_stream), config, pad_id, device, gold=False)
            else:
                loss = task_loss(
                    model, task, next(streams[task]), config, pad_id, device, weights if task == "stance" else None
                )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        running[task] = 0.98 * running[task] + 0.02 * loss.item() if running[task] else loss.item()
        bar.update(1)
        bar.set_postfix({t: f"{v:.3f}" for t, v in running.items()})
        if step % config.eval_every == 0 or step == config.steps:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                dev = evaluate_dev(model, data, pad_id, device, config.eval_max, config.seed)
            history.append({"step": step, "seconds": round(time.time() - t_start), "dev": dev})
            tqdm.write(f"step {step}: dev {json.dumps(dev)}")
            save_checkpoint(checkpoint, model, optimizer, scheduler, step, config, history, rng.getstate())
    bar.close()
    (out / "train_log.json").write_text(
        json.dumps(
            {
                "config": config.to_dict(),
                "history": history,
                "train_seconds": round(time.time() - t_start),
                "device": str(device),
                "hardware": hardware(),  # the model card names where training ran, not where it is evaluated
            },
            indent=2,
        )
    )
    return checkpoint
