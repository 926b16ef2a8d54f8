"""Synthetic raw data of the persuasion technique sets (SemEval-2023 Task 3, whose subtask-2 frames
are here too, and PTC), each in its own format."""

from __future__ import annotations

from pathlib import Path

from fake_files import pick, write_file


def write_semeval2023(root: Path, train_techniques="Doubt") -> list[int]:
    d = root / "semeval2023_task3_en" / "data" / "en"
    tr = [pick(lambda i: f"semeval2023:{i}", s, 700000000, True) for s in ("train", "dev")]
    dev_art = 800000001
    tpl, lab = [], []
    for art in tr:
        for line, (text, techs) in enumerate(
            [
                (f"Headline of article {art}", ""),
                (f"Officials doubt the figures in article {art}.", train_techniques),
                ("A paragraph that is also in the dev set.", "Loaded_Language"),
                ("!!!", ""),
            ],
            start=1,
        ):
            tpl.append(f"{art}\t{line * 2 - 1}\t{text}")
            lab.append(f"{art}\t{line * 2 - 1}\t{techs}")
    write_file(d / "train-labels-subtask-3.template", "\n".join(tpl) + "\n")
    write_file(d / "train-labels-subtask-3.txt", "\n".join(lab) + "\n")
    write_file(
        d / "dev-labels-subtask-3.template",
        f"{dev_art}\t1\tA paragraph that is also in the dev set.\n{dev_art}\t3\tWe will win, say the slogans.\n",
    )
    write_file(d / "dev-labels-subtask-3.txt", f"{dev_art}\t1\tLoaded_Language,Doubt\n{dev_art}\t3\tSlogans\n")
    # subtask 2: three articles, one per hash split
    arts = [pick(lambda i: f"semeval2023:{i}", s, 710000000) for s in ("train", "dev", "test")]
    write_file(
        d / "train-labels-subtask-2.txt",
        "\n".join(f"{a}\tEconomic,Legality_Constitutionality_and_jurisprudence" for a in arts) + "\n",
    )
    for a in arts:
        write_file(
            d / "train-articles-subtask-2" / f"article{a}.txt",
            f"Title of frames article {a}\n\nThe budget for {a} grew.\n\nCourts reviewed case {a}.\n",
        )
    return tr


def write_ptc(root: Path, arts) -> None:
    d = root / "ptc_semeval2020_task11"
    text = "A title line\n\nThey are traitors to the nation.\nThe vote is on Monday.\n"
    s = text.index("traitors")
    for part, art in (("train", arts[0]), ("dev", arts[1])):
        write_file(d / "datasets" / f"{part}-articles" / f"article{art}.txt", text.replace("title", f"title {art}"))
    off = len(str(arts[0])) + 1
    write_file(
        d / "datasets" / "train-task2-TC.labels",
        f"{arts[0]}\tName_Calling,Labeling\t{s + off}\t{s + off + 8}\n"
        f"{arts[0]}\tWhataboutism,Straw_Men,Red_Herring\t{s + off}\t{s + off + 8}\n",
    )
    off = len(str(arts[1])) + 1
    write_file(
        d / "peerda_dev_gold" / "dev-task-TC.labels",
        f"{arts[1]}\tThought-terminating_Cliches\t{s + off}\t{s + off + 8}\n",
    )
