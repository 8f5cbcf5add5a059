"""Count the claims with a roofline verdict, by verdict word, and those without one, by reason (issues 16, 17).

    python tools/claim_verdicts.py [--branch compression] [--list REASON|verdict|above|WORD]

Verdict words (kb.analysis.verdict): plausible / optimistic / beyond the bound for a claim with an expected
value (time ratios), consistent / above the roofline bound for one without (memory, serving).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.analysis import OVER_BOUND, VERDICTS, Catalogue, claim_check  # noqa: E402
from kb.analysis_pages import unjudged_split  # noqa: E402
from kb.load import load  # noqa: E402
from kb.schema import BY_NATURE  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--branch", help="only methods whose category starts with this")
    ap.add_argument("--list", metavar="REASON", help="list the claims without a verdict for this reason "
                    "('verdict' lists the judged ones, 'above' those above the bound, a verdict word such as "
                    "'optimistic' those with that verdict)")
    args = ap.parse_args(argv)
    kb = load(ROOT)
    cat = Catalogue(kb)
    verdicts, reasons, branches, where = Counter(), Counter(), Counter(), Counter()
    for mid in sorted(kb.methods):
        m = kb.methods[mid]
        if args.branch and not m.category.startswith(args.branch):
            continue
        for i, claim in enumerate(m.claims):
            c = claim_check(cat, m, claim, kb.methods, kb.scenarios)
            branch = m.category.split("/")[0]
            if c["predicted"] is not None:
                verdicts[c["verdict"]] += 1
                branches[branch, "verdict"] += 1
                where[("at an assumed scenario" if c.get("scenario") else "at the paper's setting")] += 1
            else:
                reasons[c["reason"]] += 1
                branches[branch, "none"] += 1
            show = args.list and (c["reason"] == args.list or (args.list == "verdict" and c["predicted"])
                                  or (args.list == "above" and c["verdict"] in OVER_BOUND)
                                  or (args.list == c["verdict"] and c["predicted"]))
            if show:
                pred = f'{c["predicted"]:.2f}' if c["predicted"] else "-"
                exp = f'{c["expected"]:.2f}' if c.get("expected") else "-"
                print(f'  {mid}#{i} {c["metric"]} claimed {c["claimed"]:g} expected {exp} bound {pred} {c["verdict"]}'
                      f' | {c["setting"] or c["why"]}' + (f' | expl: {c["explanation"]}' if c["explanation"] else ""))
    judged, total = sum(verdicts.values()), sum(verdicts.values()) + sum(reasons.values())
    print(f"claims: {total}; with a verdict: {judged} ({100 * judged / max(total, 1):.0f}%): "
          + ", ".join(f"{verdicts[k]} {k}" for k in VERDICTS if verdicts[k]))
    two = sum(verdicts[k] for k in VERDICTS[:3])
    print(f"judged against expected and bound: {two}; against the bound only (no expected value): "
          f"{judged - two}")
    print("judged " + ", ".join(f"{v} {k}" for k, v in sorted(where.items())))
    nature, waiting = unjudged_split(reasons)
    print(f"without a verdict, by reason ({nature} outside a per-step roofline by nature, * below; "
          f"{waiting} waiting for more of their setting):")
    for reason, n in reasons.most_common():
        print(f"  {n:4d} {reason}" + (" *" if reason in BY_NATURE else ""))
    print("by branch (verdict / none): " + ", ".join(
        f"{b} {branches[b, 'verdict']}/{branches[b, 'none']}" for b in sorted({b for b, _ in branches})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
