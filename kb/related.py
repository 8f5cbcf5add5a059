"""Related methods for the end of each method page: the same category, the same mechanism, and the
methods a paper compares itself with (named in its claims' baselines), both ways.

Computed once for the whole KB (`related_methods`), linear in the number of entries apart from one
regular expression of all names.
"""

from __future__ import annotations

import re
from collections import defaultdict

from kb.load import KB
from kb.schema import Method

MAX_SHOWN = 6
# Names too generic to mean a method when a baseline mentions them.
_GENERIC = {"fp16", "fp8", "int8", "int4", "bf16", "dense", "baseline", "full", "none", "base", "vanilla"}


def _day(m: Method) -> int:
    text = str(m.date) if m.date else f"{m.year}-07"
    parts = [int(p) for p in text.split("-")] + [15]
    return parts[0] * 372 + (parts[1] - 1) * 31 + parts[2]


def _closest(method: Method, others: list[Method]) -> list[Method]:
    return sorted(others, key=lambda o: (abs(_day(o) - _day(method)), o.name.lower()))[:MAX_SHOWN]


def _name_index(kb: KB) -> tuple[re.Pattern | None, dict[str, str]]:
    names: dict[str, str] = {}
    for m in kb.methods.values():
        for name in (m.name, *m.aliases):
            if len(name) >= 3 and name.lower() not in _GENERIC and "$" not in name:
                names.setdefault(name, m.id)
    if not names:
        return None, names
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])"), names


def comparisons(kb: KB) -> dict[str, set[str]]:
    """method id -> ids of the entries its claims' baselines name."""
    pattern, names = _name_index(kb)
    compared: dict[str, set[str]] = defaultdict(set)
    for m in kb.methods.values():
        if pattern is None:
            break
        for claim in m.claims:
            for found in pattern.findall(claim.baseline):
                other = names[found]
                if other != m.id:
                    compared[m.id].add(other)
    return compared


def compared_by(kb: KB, compared: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """method id -> ids of the entries that compare themselves with it (a measure of how much it is used)."""
    out: dict[str, set[str]] = defaultdict(set)
    for m, others in (comparisons(kb) if compared is None else compared).items():
        for o in others:
            out[o].add(m)
    return out


def mentioned_by(kb: KB) -> dict[str, int]:
    """method id -> how many other entries name it in their summary or claims (how much the field uses
    it: AWQ and GPTQ are everyone's baselines). Feeds the search ranking."""
    pattern, names = _name_index(kb)
    counts: dict[str, int] = defaultdict(int)
    if pattern is None:
        return counts
    for m in kb.methods.values():
        texts = [m.summary] + [c.baseline for c in m.claims]
        named = {names[found] for t in texts for found in pattern.findall(t)} - {m.id}
        for other in named:
            counts[other] += 1
    return counts


def related_methods(kb: KB) -> dict[str, list[tuple[str, list[Method]]]]:
    """method id -> [(why, methods)], each list non-empty, nearest in time first."""
    compared = comparisons(kb)
    compared_by_ = compared_by(kb, compared)
    by_category: dict[str, list[Method]] = defaultdict(list)
    by_kind: dict[str, list[Method]] = defaultdict(list)
    for m in kb.methods.values():
        by_category[m.category].append(m)
        if m.effect.kind != "none":
            by_kind[m.effect.kind].append(m)
    out = {}
    for m in kb.methods.values():
        groups = []
        against = [kb.methods[i] for i in sorted(compared.get(m.id, ()))]
        if against:
            groups.append(("Compared against", _closest(m, against)))
        against_it = [kb.methods[i] for i in sorted(compared_by_.get(m.id, ()))]
        if against_it:
            groups.append(("Compared with it", _closest(m, against_it)))
        shown = {m.id} | {o.id for _, ms in groups for o in ms}
        same = [o for o in by_category[m.category] if o.id not in shown]
        if same:
            groups.append(("Same category", _closest(m, same)))
            shown |= {o.id for o in groups[-1][1]}
        if m.effect.kind != "none":
            mech = [o for o in by_kind[m.effect.kind] if o.id not in shown and o.category != m.category]
            if mech:
                groups.append((f"Same mechanism ({m.effect.kind.replace('_', ' ')}) in other categories",
                               _closest(m, mech)))
        out[m.id] = groups
    return out
