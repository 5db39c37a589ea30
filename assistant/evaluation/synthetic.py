"""Deterministic synthetic surveys of any size, for the benchmark and scale tests.

A generated corpus looks like the real one to every stage of the pipeline: chapters
of Chinese and English Markdown with numbered headings (``## 12.3 …``), tables, lists
and arXiv links, plus an ``abstracts.jsonl`` for part of the linked papers. Terms are
drawn from a Zipf-like vocabulary with a long tail of invented model names, so BM25
has common and rare words to weigh, and queries are built from the same vocabulary so
both retrievers find something. A seeded RNG makes every run byte-identical.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

_ZH_TERMS = (
    "世界模型 视频生成 物理推理 具身智能 自动驾驶 扩散模型 潜在空间 规划 强化学习 仿真 数据集 评测 "
    "多模态 机器人 交互 预测 表征学习 注意力机制 因果推理 安全 伦理 长程一致性 三维重建 点云 "
    "动作条件 策略学习 奖励模型 模拟器 场景理解 语言模型 视觉编码器 自回归 流匹配 蒸馏 量化 "
    "推理加速 数据飞轮 遥操作 触觉 导航 操作任务 医疗影像 手术 气象预报 城市仿真 游戏引擎 "
    "开放世界 长尾场景 对抗攻击 泛化能力 样本效率 预训练 微调 基准 指标 人类评估 开源生态"
).split()
_EN_TERMS = (
    "world model video generation physical reasoning embodied agent autonomous driving "
    "diffusion latent space planning reinforcement learning simulation dataset benchmark "
    "multimodal robot interaction prediction representation attention causal safety "
    "long-horizon consistency 3D reconstruction point cloud action-conditioned policy reward "
    "simulator scene understanding language model vision encoder autoregressive flow matching "
    "distillation quantization tokenizer transformer occupancy trajectory teleoperation"
).split()
_ZH_VERBS = ("提出了", "改进了", "评估了", "结合了", "扩展了", "比较了", "统一了", "简化了")
_ZH_GLUE = ("在", "通过", "基于", "面向", "针对", "利用")
_EN_VERBS = ("introduces", "improves", "evaluates", "combines", "extends", "scales", "unifies")
_SYLLABLES = ("ae", "ther", "gen", "ie", "vis", "ta", "cos", "mos", "dre", "amer", "ori", "on")


@dataclass(frozen=True)
class SyntheticCorpus:
    """Where a generated corpus was written and what it holds."""

    root: Path
    abstracts: Path
    sections: int
    papers: int
    queries: tuple[str, ...]


class _Vocabulary:
    """Terms with Zipf-like weights and a tail of invented model names."""

    def __init__(self, rng: random.Random, names: int) -> None:
        self.rng = rng
        self.names = [self._name(i) for i in range(names)]
        self.zh_weights = [(rank + 1) ** -0.7 for rank in range(len(_ZH_TERMS))]
        self.en_weights = [(rank + 1) ** -0.7 for rank in range(len(_EN_TERMS))]

    def _name(self, i: int) -> str:
        rng = self.rng
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        suffix = rng.choice(("", "-V2", f"-{rng.randint(1, 70)}B", f"{rng.randint(1, 4)}.{i % 10}"))
        return f"{stem}{suffix}"

    def zh(self, k: int = 1) -> list[str]:
        return self.rng.choices(_ZH_TERMS, self.zh_weights, k=k)

    def en(self, k: int = 1) -> list[str]:
        return self.rng.choices(_EN_TERMS, self.en_weights, k=k)

    def name(self) -> str:
        # a few names are popular, most are rare: the long tail BM25 should find exactly
        if self.rng.random() < 0.3:
            return self.names[min(int(self.rng.paretovariate(1.0)), 20) - 1]
        return self.rng.choice(self.names)


def _arxiv_id(rng: random.Random) -> str:
    return f"{rng.randint(20, 26):02d}{rng.randint(1, 12):02d}.{rng.randint(0, 99999):05d}"


def _term(v: _Vocabulary, zh: bool) -> str:
    return v.zh()[0] if zh else v.en()[0]


def _zh_sentence(v: _Vocabulary) -> str:
    a, b, c = v.zh(3)
    rng = v.rng
    return f"{v.name()} {rng.choice(_ZH_GLUE)}{a}{rng.choice(_ZH_VERBS)}{b}与{c}的方法。"


def _en_sentence(v: _Vocabulary) -> str:
    a, b, c = v.en(3)
    return f"{v.name()} {v.rng.choice(_EN_VERBS)} {a} for {b} with {c}."


def _section_body(v: _Vocabulary, zh: bool, links: list[tuple[str, str]]) -> str:
    rng = v.rng
    sentence = _zh_sentence if zh else _en_sentence
    parts = [" ".join(sentence(v) for _ in range(rng.randint(2, 4)))]
    shape = rng.random()
    if shape < 0.3:
        rows = [
            f"| {v.name()} | {_term(v, zh)} | {rng.randint(50, 99)}.{rng.randint(0, 9)}% |"
            for _ in range(rng.randint(2, 4))
        ]
        parts.append("| 方法 | 方向 | 指标 |\n|---|---|---|\n" + "\n".join(rows))
    elif shape < 0.6:
        items = [f"- **{v.name()}**：{sentence(v)}" for _ in range(rng.randint(2, 4))]
        parts.append("\n".join(items))
    for _ in range(rng.randint(0, 2)):
        arxiv_id = _arxiv_id(rng)
        anchor = v.name()
        links.append((arxiv_id, anchor))
        parts.append(
            f"详见 [{anchor}](https://arxiv.org/abs/{arxiv_id})。"
            if zh
            else f"See [{anchor}](https://arxiv.org/abs/{arxiv_id})."
        )
    return "\n\n".join(parts)


def _abstract(v: _Vocabulary, arxiv_id: str, anchor: str) -> dict[str, object]:
    sentences = " ".join(_en_sentence(v) for _ in range(v.rng.randint(3, 5)))
    return {
        "id": arxiv_id,
        "title": f"{anchor}: {' '.join(v.en(3))}",
        "authors": ["A. Author", "B. Author"],
        "abstract": sentences,
        "published": f"20{arxiv_id[:2]}-{arxiv_id[2:4]}-01",
        "categories": ["cs.CV"],
    }


def _queries(v: _Vocabulary, count: int) -> tuple[str, ...]:
    rng = v.rng
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            a, b = v.zh(2)
            out.append(f"哪些工作{rng.choice(_ZH_GLUE)}{a}研究{b}？")
        elif kind == 1:
            out.append(f"{v.name()} 是如何做{v.zh()[0]}的？")
        elif kind == 2:
            a, b = v.en(2)
            out.append(f"Which methods use {a} for {b}?")
        else:
            out.append(f"What does {v.name()} do for {v.en()[0]}?")
    return tuple(out)


def synthetic_queries(count: int, seed: int = 0) -> list[str]:
    """``count`` Chinese and English questions from the synthetic vocabulary."""
    return list(_queries(_Vocabulary(random.Random(seed), names=50), count))


def generate_corpus(
    folder: Path,
    sections: int,
    seed: int = 0,
    sections_per_file: int = 200,
    abstract_share: float = 0.1,
    queries: int = 200,
) -> SyntheticCorpus:
    """Write ``sections`` sections (each about one chunk) and ~``abstract_share`` as many
    abstracts under ``folder``; returns where they are and ``queries`` test questions."""
    rng = random.Random(seed)
    vocab = _Vocabulary(rng, names=max(50, sections // 3))
    folder.mkdir(parents=True, exist_ok=True)
    links: list[tuple[str, str]] = []
    written = 0
    chapter = 0
    while written < sections:
        chapter += 1
        zh = chapter % 3 != 0  # two Chinese chapters for every English one
        lines = [
            f"# 第{chapter}章 {''.join(vocab.zh(2))}"
            if zh
            else f"# Chapter {chapter}: {' '.join(vocab.en(2))}"
        ]
        in_file = min(sections_per_file, sections - written)
        sub = 0
        for n in range(in_file):
            if n % 5 == 0:
                sub += 1
                title = "".join(vocab.zh(2)) if zh else " ".join(vocab.en(2)).title()
                lines.append(f"## {chapter}.{sub} {title}")
                number = f"{chapter}.{sub}"
            else:
                title = f"{vocab.name()} {'与' if zh else 'and'} {_term(vocab, zh)}"
                number = f"{chapter}.{sub}.{n % 5}"
                lines.append(f"### {number} {title}")
            lines.append(_section_body(vocab, zh, links))
        (folder / f"chapter-{chapter:04d}.md").write_text(
            "\n\n".join(lines) + "\n", encoding="utf-8"
        )
        written += in_file
    papers = {}
    for arxiv_id, anchor in links:
        if len(papers) >= int(sections * abstract_share):
            break
        papers.setdefault(arxiv_id, _abstract(vocab, arxiv_id, anchor))
    abstracts = folder / "abstracts.jsonl"
    abstracts.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in papers.values()),
        encoding="utf-8",
    )
    return SyntheticCorpus(
        root=folder,
        abstracts=abstracts,
        sections=written,
        papers=len(papers),
        queries=_queries(vocab, queries),
    )


def change_one_section(folder: Path, seed: int = 1) -> Path:
    """Append a sentence to the last section of one Markdown file (incremental re-index timing)."""
    files = sorted(p for p in Path(folder).rglob("*.md") if p.name.lower() != "readme.md")
    target = files[random.Random(seed).randrange(len(files))]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.rstrip("\n") + "\n\n新增的一句话用于测试增量索引。\n", encoding="utf-8")
    return target
