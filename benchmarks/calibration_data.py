"""Labelled (original, candidate) pairs from several domains: the one loader behind the judge's scripts.

Domains (all files in ../shared/datasets, see its README):
  news      MSRP train (Quality 1 = paraphrase); MSRP test is read by ``msrp_test()`` for reporting only
  sts       STS-B train + dev, human score 0-5: >= 4.0 same meaning, < 3.0 changed, in between dropped;
            ``genre`` keeps captions / news / forums apart
  questions QQP calibration sample (is_duplicate)
  alpaca    pairs built here from real Alpaca instructions (``alpaca_pairs``): the templates
            augmenter's rewrites as positives; a number, named entity, negation, placeholder or one
            content word changed as negatives (each kind counted in ``source``)
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from augment_core import guards  # noqa: E402
from augment_core.augmenters.templates import variations  # noqa: E402


def _datasets() -> Path:
    """../shared/datasets from the repository (a worktree may sit deeper: the nearest one up counts)."""
    if os.environ.get("AUGMENT_DATASETS"):
        return Path(os.environ["AUGMENT_DATASETS"])
    repo = Path(__file__).resolve().parent.parent
    for parent in repo.parents:
        if (parent / "shared" / "datasets").is_dir():
            return parent / "shared" / "datasets"
    return repo.parent / "shared" / "datasets"


DATASETS = _datasets()
DOMAINS = ("news", "sts", "questions", "alpaca")
STS_SAME, STS_CHANGED = 4.0, 3.0


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    label: int  # 1 = same meaning
    domain: str
    source: str  # file, or how an alpaca pair was built


def _tsv(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def msrp(split: str) -> list[Pair]:
    """One MSRP split. The train file has one line where two rows ran together; it is split back."""
    name = f"msrp_{split}.tsv"
    pairs = []
    for row in _tsv(DATASETS / name, "utf-8-sig")[1:]:
        while len(row) > 5:  # "...late Wednesday.0" + next row: the label digit was glued on
            head, row = row[:4] + [row[4][:-1]], [row[4][-1], *row[5:]]
            pairs.append(Pair(head[3], head[4], int(head[0]), "news", name))
        pairs.append(Pair(row[3], row[4], int(row[0]), "news", name))
    return pairs


def msrp_test() -> list[Pair]:
    """MSRP test: for the report only, never for fitting or choosing a threshold."""
    return msrp("test")


def stsb() -> list[Pair]:
    """STS-B train + dev with the middle scores dropped; ``source`` is the file and the genre."""
    pairs = []
    for split in ("train", "dev"):
        name = f"stsb_{split}.tsv"
        for row in _tsv(DATASETS / name):
            score = float(row[4])  # some rows carry extra trailing columns: the first seven count
            if STS_CHANGED <= score < STS_SAME:
                continue
            genre = row[0].removeprefix("main-").replace("forums", "forum")  # dev says forums, train forum
            pairs.append(Pair(row[5], row[6], int(score >= STS_SAME), "sts", f"{name}:{genre}"))
    return pairs


def qqp() -> list[Pair]:
    name = "qqp_calibration.tsv"
    rows = _tsv(DATASETS / name)
    header = rows[0]
    q1, q2, dup = header.index("question1"), header.index("question2"), header.index("is_duplicate")
    return [Pair(r[q1], r[q2], int(r[dup]), "questions", name) for r in rows[1:] if len(r) == len(header)]


# ---- pairs built from real Alpaca instructions -----------------------------------------------------

_DIGITS = re.compile(r"(?<![\w.])\d+(?![\w.])")
_STOP = frozenset(
    "the a an of to in on at for by and or is are was were be it its that this with as from what how why "
    "who which when where do does can you your me my i write give list name describe explain create".split()
)


def _change_number(text: str, rng: random.Random) -> str | None:
    found = list(_DIGITS.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    value = int(m[0])
    if value < 3 or rng.random() < 0.5:
        other = value + rng.choice([1, 2, 3, 5, 10])
    else:
        other = max(1, value - rng.randint(1, 2))
    return text[: m.start()] + str(other) + text[m.end() :]


def _change_entity(text: str, rng: random.Random, names: list[str]) -> str | None:
    found = sorted(guards.entities(text))
    if not found:
        return None
    old = rng.choice(found)
    new = rng.choice([n for n in names if n.lower() != old.lower()])
    return text.replace(old, new, 1) if old in text else None


def _change_negation(text: str, rng: random.Random) -> str | None:
    for pattern, repl in ((r"\bdo not\b", "do"), (r"\bDo not\b", "Do"), (r"\bnot\b ", ""), (r"\bnever\b", "always")):
        if re.search(pattern, text):
            return re.sub(pattern, repl, text, count=1)
    words = text.split()
    if words and words[0][:1].isupper() and words[0].lower() in ("write", "describe", "explain", "list", "give"):
        return "Do not " + words[0].lower() + " " + " ".join(words[1:])  # an imperative negated
    if re.search(r"\b(is|are|can|should|does|do)\b", text):
        return re.sub(r"\b(is|are|can|should|does|do)\b", r"\1 not", text, count=1)
    return None


def _change_placeholder(text: str, rng: random.Random) -> str | None:
    m = re.search(r"\{\w+\}|<\w+>|\[\w+\]", text)
    if m:
        return text[: m.start()] + rng.choice(["{name}", "{topic}", "<item>", "[value]"]) + text[m.end() :]
    return None


def _change_word(text: str, rng: random.Random, vocabulary: list[str]) -> str | None:
    """One content word replaced by a content word of another instruction: the topic changes."""
    tokens = text.split()
    spots = [i for i, t in enumerate(tokens) if t.strip(".,?!:;").isalpha() and len(t) > 3 and t.lower() not in _STOP]
    if not spots:
        return None
    i = rng.choice(spots)
    word = tokens[i].strip(".,?!:;")
    new = rng.choice(vocabulary)
    if new.lower() == word.lower():
        return None
    new = new.capitalize() if word[:1].isupper() else new
    tokens[i] = tokens[i].replace(word, new)
    return " ".join(tokens)


_QUESTION_LEADS = ("Question:", "Here is my question:", "I'd like to know:", "Answer this:")


def alpaca_pairs(per_kind: int = 150, positives: int = 750, seed: int = 0) -> list[Pair]:
    """Negatives (a number, entity, negation, placeholder or content word changed) and template positives."""
    records = json.loads((DATASETS / "alpaca_5000.json").read_text(encoding="utf-8"))
    instructions = list(dict.fromkeys(r["instruction"].strip() for r in records if 10 < len(r["instruction"]) < 300))
    rng = random.Random(seed)
    rng.shuffle(instructions)
    names = sorted({e for t in instructions for e in guards.entities(t) if " " not in e and e.isalpha()})
    vocabulary = sorted({w for t in instructions for w in re.findall(r"\b[a-z]{5,12}\b", t) if w not in _STOP})
    changers: dict[str, Callable[[str], str | None]] = {
        "number": lambda t: _change_number(t, rng),
        "entity": lambda t: _change_entity(t, rng, names),
        "negation": lambda t: _change_negation(t, rng),
        "placeholder": lambda t: _change_placeholder(t, rng),
        "word": lambda t: _change_word(t, rng, vocabulary),
    }
    pairs: list[Pair] = []
    # Negatives and positives come from disjoint halves, so an instruction is never both.
    half = len(instructions) // 2
    for kind, change in changers.items():
        made = 0
        for text in instructions[:half]:
            new = change(text)
            if new and guards.normalise(new) != guards.normalise(text):
                pairs.append(Pair(text, new, 0, "alpaca", f"alpaca:{kind}"))
                made += 1
                if made == per_kind:
                    break
    made = 0
    for text in instructions[half:]:
        options = list(variations(text).values())
        if text.endswith("?"):  # a question wrapped in a lead-in (the tests use other lead-ins)
            options += [f"{lead} {text}" for lead in _QUESTION_LEADS]
        if options:
            pairs.append(Pair(text, rng.choice(options), 1, "alpaca", "alpaca:template"))
            made += 1
            if made == positives:
                break
    return pairs


def calibration_pairs(with_alpaca: bool = True) -> list[Pair]:
    """Every fitting pair: MSRP train, STS-B train+dev, QQP and (optionally) the Alpaca-built pairs."""
    pairs = msrp("train") + stsb() + qqp()
    return pairs + alpaca_pairs() if with_alpaca else pairs


def main() -> None:
    from collections import Counter

    pairs = calibration_pairs()
    counts = Counter((p.domain, p.source.split(":")[-1] if ":" in p.source else "", p.label) for p in pairs)
    for (domain, part, label), n in sorted(counts.items()):
        print(f"{domain:<10} {part:<12} label {label}: {n}")
    print(f"msrp test (report only): {len(msrp_test())}")


if __name__ == "__main__":
    main()
