"""The whole training workflow on tiny data: train -> export (gates) -> evaluate -> serve-side load."""

import json
import shutil
from pathlib import Path

import pytest

from slant import artifact as art
from slant.labels import TASKS
from slant.predictor import Pass, Predictor
from training.export import INT8_MAX_DROP
from training.gate import allowed_drop


def test_train_export_evaluate_produces_a_consistent_artifact(tiny_run):
    folder = tiny_run["artifact"]
    loaded = art.load(folder)  # metrics.json must describe exactly this model.onnx
    assert loaded.name == "slant-tiny" and loaded.version == "0.0.1-test"
    assert set(loaded.tasks) == set(TASKS)
    report = tiny_run["export_report"]
    assert report["fp32_vs_torch_max_abs_logit_diff"] <= 1e-4
    for task in TASKS:  # 1 point, or a tiny dev set's sampling noise
        limit = allowed_drop(INT8_MAX_DROP, report["dev_n"][task])
        assert report["dev_fp32"][task] - report["dev_int8"][task] <= limit
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["tasks"]) == set(TASKS)
    for task, tm in metrics["tasks"].items():
        assert tm["sources"], task
        for entry in tm["sources"].values():
            assert 0.0 <= entry["headline"] <= 1.0 and "baseline" in entry
    assert (folder / "report" / "report.md").exists()
    assert (folder / "report" / "reliability_stance.png").exists()


def test_training_learns_the_synthetic_stance_signal(tiny_run):
    history = json.loads((tiny_run["checkpoint"].parent / "train_log.json").read_text())["history"]
    assert history[-1]["dev"]["stance"] > 0.5  # three balanced classes: chance is about 0.33


def test_predictor_probabilities_are_in_range(tiny_artifact):
    predictor = Predictor(art.load(tiny_artifact), device="cpu")
    long_text = " ".join(["The council met again and the budget grew."] * 60)  # several windows
    scores = predictor.score(
        [Pass("Maria Lopez is a corrupt liar."), Pass("Maria Lopez is a corrupt liar.", "Maria Lopez"), Pass(long_text)]
    )
    single, pair, windowed = scores
    assert pytest.approx(sum(pair.stance), abs=1e-5) == 1.0
    for s in (single, windowed):
        assert all(0 <= p <= 1 for p in s.frames + s.techniques) and 0 <= s.bias <= 1
        assert len(s.frames) == len(TASKS["frames"].labels)
    # Every token of the windowed paragraph is scored once, in text order.
    starts = [t[0] for t in windowed.tokens]
    assert starts == sorted(set(starts))
    assert windowed.tokens[-1][1] == len(long_text)


def test_unknown_config_key_is_refused():
    from training.config import TrainConfig

    with pytest.raises(ValueError, match="unknown training config keys \\['stepz'\\]"):
        TrainConfig.from_dict({"stepz": 3})


def test_resume_continues_from_the_checkpoint(tiny_corpus, tmp_path):
    from training.config import TrainConfig
    from training.train import train

    base = dict(
        data_dir=str(tiny_corpus), out_dir=str(tmp_path / "run"), base_model="tiny", batch_size=8, eval_every=10
    )
    train(TrainConfig.from_dict({**base, "steps": 10}))
    checkpoint = train(TrainConfig.from_dict({**base, "steps": 20}), resume=True)
    log = json.loads((checkpoint.parent / "train_log.json").read_text())
    assert [h["step"] for h in log["history"]] == [10, 20]


def test_artifact_refuses_disagreeing_files(tiny_artifact, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_artifact, copy)
    (copy / "version").write_text("9.9.9\n")
    with pytest.raises(art.ArtifactError, match="version says '9.9.9'"):
        art.load(copy)
    (copy / "version").write_text("0.0.1-test\n")
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(art.ArtifactError, match="run `slant evaluate`"):
        art.load(copy)


def test_artifact_weights_restart_training_where_the_checkpoint_ended(tiny_run):
    import torch

    from training.train import load_model

    from_checkpoint, _ = load_model(tiny_run["checkpoint"])
    from_artifact, state = load_model(tiny_run["artifact"])
    assert state["config"]["base_model"] == "tiny"
    # Export folds the dev-fitted stance offsets into the head: the one intended difference.
    report = json.loads(Path(tiny_run["checkpoint"]).with_name("export_report.json").read_text())
    offsets = torch.tensor([report["stance_offsets"][label] for label in ("favor", "against", "neutral")])
    ids = torch.randint(1000, 2000, (3, 9))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        for name, a, b in zip(from_checkpoint.output_names, from_checkpoint(**inputs), from_artifact(**inputs)):
            expected = a + offsets if name == "stance" else a
            assert torch.allclose(expected, b, atol=2e-2)  # fp16 storage


def test_labels_without_training_examples_are_never_reported(tiny_artifact):
    from slant.answer import build_answer, passes_for
    from slant.intake import from_text

    artifact = art.load(tiny_artifact)
    # The tiny corpus's frames never show "other" (SemEval-2023 has none either).
    assert "other" in artifact.calibration.untrained["frames"]
    article = from_text("Police arrested the suspect.\n\nThe budget will cost billions.")
    predictor = Predictor(artifact, device="cpu")
    answer = build_answer(artifact, article, ["the suspect"], predictor.score(passes_for(article, ["the suspect"])))
    for paragraph in answer["paragraphs"]:
        assert "other" not in paragraph["frames"]["scores"] and "other" not in paragraph["frames"]["labels"]
    assert "other" not in answer["summary"]["frames"]


def test_an_artifact_without_training_weights_is_rebuilt_from_its_graph(tiny_run, tmp_path):
    """The released model in git carries no weights.safetensors: its int8 graph gives the weights."""
    import shutil

    import torch

    from training.train import load_model

    copy = tmp_path / "artifact"
    shutil.copytree(tiny_run["artifact"], copy)
    (copy / "weights.safetensors").unlink()
    from_weights, _ = load_model(tiny_run["artifact"])
    from_graph, _ = load_model(copy)
    ids = torch.randint(1000, 2000, (3, 9))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        for a, b in zip(from_weights(**inputs), from_graph(**inputs)):
            assert torch.allclose(a, b, atol=5e-2)  # int8 weights, dequantized


def test_bias_transfer_trains_on_one_scheme_and_scores_the_other(tiny_corpus, tmp_path):
    from training.transfer import RESULT, bias_transfer

    result = bias_transfer(str(tiny_corpus), str(tmp_path), base_model="tiny", steps=30)
    assert set(result) == {"babe->npov", "npov->babe"}
    for row in result.values():
        for side in ("model", "baseline"):
            assert 0.0 <= row[side]["roc_auc"] <= 1.0 and 0.0 <= row[side]["in_scheme_roc_auc"] <= 1.0
    assert json.loads((tmp_path / RESULT).read_text()) == result
    # Each direction trained on its own scheme only.
    log = json.loads((tmp_path / "babe" / "train_log.json").read_text())
    assert log["config"]["sources"] == {"bias": ["babe"]}


def test_sentence_level_bias_sources_carry_no_token_labels(tiny_corpus):
    from training.config import TrainConfig
    from training.examples import load_examples, make_encoder

    config = TrainConfig(data_dir=str(tiny_corpus), base_model="tiny", task_shares={"bias": 1.0})
    examples = load_examples(config, make_encoder(config))["bias"]["train"]
    by_source = {s: [e for e in examples if e.source == s] for s in ("babe", "npov")}
    assert all((e.token_labels == -1).all() for e in by_source["npov"])
    assert any((e.token_labels == 1).any() for e in by_source["babe"])
    assert all((e.token_labels >= 0).any() for e in by_source["babe"])


def test_quantize_can_keep_the_ffn_down_projections_in_fp32(tiny_run, tmp_path):
    import onnx

    from training.export import ffn_down_projections, quantize
    from training.model import TINY_ENCODER

    fp32 = tiny_run["checkpoint"].with_name("model.fp32.onnx")
    keep = ffn_down_projections(fp32, TINY_ENCODER["intermediate_size"])
    assert len(keep) == TINY_ENCODER["num_hidden_layers"]  # one per layer
    quantize(fp32, tmp_path / "int8.onnx", keep)
    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    float_matmuls = {n.name for n in graph.node if n.op_type == "MatMul"}
    assert set(keep) <= float_matmuls  # kept as float MatMuls ...
    assert any(n.op_type == "MatMulInteger" for n in graph.node)  # ... beside the int8 ones


def test_the_gpu_graph_is_evaluated_beside_the_served_one(tiny_run, tiny_corpus, tmp_path):
    from training.evaluate import evaluate

    folder = tmp_path / "artifact"
    shutil.copytree(tiny_run["artifact"], folder)
    served = (folder / "metrics.json").read_bytes()
    metrics = evaluate(folder, str(tiny_corpus), baseline=False, graph="fp16")
    assert (folder / "metrics.json").read_bytes() == served  # tied to model.onnx: left as it was
    written = json.loads((folder / "report" / "fp16" / "metrics.json").read_text())
    assert written["graph"] == "fp16" and written["model_sha256"] == art.sha256(folder / art.MODEL)
    rows = metrics["against_served"]
    assert {(r["task"], r["source"]) for r in rows} == {
        (task, source) for task, tm in json.loads(served)["tasks"].items() for source in tm["sources"]
    }
    assert all(r["current"] is not None and r["candidate"] is not None for r in rows)


def test_a_release_is_re_exported_in_place_with_its_training_record(tiny_run, tiny_corpus, tmp_path):
    """`slant export --checkpoint <artifact>`: this version's graph for a release's weights, its card
    keeping the training that made them."""
    from click.testing import CliRunner

    from slant.cli import main
    from training.evaluate import evaluate

    folder = tmp_path / "artifact"
    shutil.copytree(tiny_run["artifact"], folder)
    (folder / "weights.safetensors").unlink()  # as in git: the weights come out of model.onnx
    released = json.loads((folder / "metrics.json").read_text())
    refused = CliRunner().invoke(main, ["export", "--checkpoint", str(folder), "--out", str(folder), "--version", "x"])
    assert refused.exit_code == 2 and "--run-dir" in refused.output
    assert (folder / "model.onnx").exists()  # nothing touched

    run = tmp_path / "reexport"
    args = ["export", "--checkpoint", folder, "--out", folder, "--run-dir", run, "--name", "slant-tiny"]
    done = CliRunner().invoke(main, [str(a) for a in [*args, "--version", "0.0.2-test"]])
    assert done.exit_code == 0, done.output
    assert art.load(folder, require_metrics=False).version == "0.0.2-test"
    report = json.loads((run / "export_report.json").read_text())
    assert report["weights_from"] == {"name": "slant-tiny", "version": "0.0.1-test"}
    assert report["fp32_vs_torch_max_abs_logit_diff"] <= 1e-4 and (run / "model.fp32.onnx").exists()

    metrics = evaluate(folder, str(tiny_corpus), baseline=False, run_dir=run)
    for key in ("train_log", "training_stages"):
        assert metrics[key] == released[key]
    assert metrics["export_report"] == report
    card = (folder / "MODEL_CARD.md").read_text()
    assert "# slant-tiny 0.0.2-test" in card and "slant-tiny 0.0.1-test's, re-exported" in card
    assert "## Training" in card and "Fused before quantizing" in card
    assert f"on cpu ({released['train_log']['hardware']})" in card  # where it trained, not where it was evaluated
