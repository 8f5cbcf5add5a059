"""The "Help wanted" page: what the knowledge base does not know yet, as a list of pull requests to make.

Pure string building from the loaded KB; every contributed value passes through `text()`.
"""

from __future__ import annotations

import re

from kb.load import KB
from kb.markup import front_matter, link, rel, table, text
from kb.render import METRIC_LABELS, UNCONFIRMED_LABELS, method_page_path
from kb.schema import BY_NATURE, OUTSIDE_ROOFLINE, Hardware, Method

GAPS_PAGE = "gaps.md"
# An effect's basis that says its numbers were assumed, not read from the paper.
_ASSUMED = re.compile(r"\bassum", re.IGNORECASE)
# Effect kinds whose fields are switches, not numbers: nothing to assume when no basis is given.
_SWITCHES_ONLY = {"operator_fusion"}


def assumed_effect(method: Method) -> bool:
    """True when the roofline effect rests on values the paper does not state (or on no stated basis)."""
    effect = method.effect
    if effect.kind == "none":
        return False
    if not effect.basis:
        return effect.kind not in _SWITCHES_ONLY
    return bool(_ASSUMED.search(effect.basis))


def third_party_fields(hw: Hardware) -> list[str]:
    """The number fields of a device that no vendor source lists (they rest on third-party pages only)."""
    def covered(name: str, sources) -> bool:
        return any(f == "all" or f == name or f == name.split(".")[0] for s in sources for f in s.fields)

    vendor = [s for s in hw.sources if not s.third_party]
    return [name for name in hw.number_fields() if not covered(name, vendor)]


def _sources_to_improve(kb: KB) -> list[str]:
    """The "sources to improve" section: device numbers on third-party pages, and devices without a host link."""
    weak = []
    for hw in sorted(kb.hardware.values(), key=lambda h: h.id):
        names = third_party_fields(hw)
        if names:
            pages = " ".join(link(s.url, f"[{i}]") for i, s in enumerate(hw.sources, 1) if s.third_party)
            weak.append([f"`{text(hw.id)}`", text(hw.name), text(", ".join(names)), pages])
    out = [f"\n## Sources to improve: device numbers from third-party pages ({len(weak)})\n\n",
           "Every number in `kb/hardware` should come from the vendor (datasheet, whitepaper, product page or "
           "documentation). These devices have numbers that only a third-party page states (a spec database, a "
           "reseller, a transcription of the datasheet, press). Replace the source with the vendor document, or "
           "confirm the figure there and add it as a source with the fields it states.\n\n"]
    out.append(table(["Device id", "Device", "Fields on third-party sources only", "Third-party sources"], weak)
               if weak else "None.\n")
    no_link = sorted(hw.id for hw in kb.hardware.values() if hw.host_link is None and not hw.unified_memory)
    out.append(f"\n## Devices without a host link ({len(no_link)})\n\n")
    out.append("Offloading (weights or KV cache streamed from host memory) needs the device's host link: PCIe "
               "generation and width and the bandwidth the vendor states, or `unified_memory: true` where the "
               "device computes out of host memory. " +
               (", ".join(f"`{text(i)}`" for i in no_link) + ".\n" if no_link else "None.\n"))
    return out


def _link(method: Method) -> str:
    return f"[{text(method.name)}]({rel(GAPS_PAGE, method_page_path(method.id))})"


def _by_branch(kb: KB, methods: list[Method]) -> str:
    """One line per top-level branch: its title, then links to the methods in it."""
    lines = []
    for root in kb.taxonomy:
        inside = sorted((m for m in methods if m.category.split("/")[0] == root.id), key=lambda m: m.name.lower())
        if inside:
            lines.append(f"- **{text(root.title)}** ({len(inside)}): " + ", ".join(_link(m) for m in inside))
    return "\n".join(lines) + "\n"


def waiting_claims(methods: list[Method]) -> list[tuple[Method, int, str]]:
    """Claims without a verdict that more of the paper's setting would give one: (entry, claim index, why).
    An entry whose effect is kind none waits too, unless the claim carries a whole effect of its own."""
    out = []
    for m in methods:
        for i, c in enumerate(m.claims):
            outside = c.outside_roofline
            if outside is not None and outside.reason not in BY_NATURE:
                out.append((m, i, OUTSIDE_ROOFLINE[outside.reason] + (f": {outside.explanation}"
                                                                       if outside.explanation else "")))
            elif outside is None and m.effect.kind == "none" and not (c.setting.effect or {}).get("kind"):
                out.append((m, i, f"the entry's effect is none: {m.effect.reason}"))
    return out


def gaps_page(kb: KB) -> str:
    methods = sorted(kb.methods.values(), key=lambda m: m.name.lower())
    unconfirmed = [(m, fact, why) for m in methods for fact, why in m.unconfirmed.items()]
    assumed = [m for m in methods if assumed_effect(m)]
    no_claim = [m for m in methods if not m.claims]
    no_venue = [m for m in methods if not m.venue and not m.published_as and "venue" not in m.unconfirmed]
    contributing = rel(GAPS_PAGE, "contributing.md")
    out = [front_matter(title="Help wanted", description="What the knowledge base does not know yet.")]
    out.append("# Help wanted\n\n")
    out.append("What the knowledge base does not know yet. Each item is a small pull request: find the fact in "
               f"the paper, edit the entry's YAML file, and say in the pull request where you found it (see "
               f"[Contributing]({contributing})). Nothing here may be filled from memory.\n\n")

    out.append(f"## Facts no source has confirmed ({len(unconfirmed)})\n\n")
    if unconfirmed:
        out.append("These fields are empty on purpose: the sources tried are listed. A source that states them "
                   "closes the gap.\n\n")
        out.append(table(["Method", "Fact", "What was tried"],
                         [[_link(m), UNCONFIRMED_LABELS[fact], text(why)] for m, fact, why in unconfirmed]))
    else:
        out.append("None.\n")

    out.append(f"\n## Roofline effects resting on assumed values ({len(assumed)})\n\n")
    out.append("The calculator applies these methods with parameters the paper's abstract does not give "
               "(a bit-width, a sparsity, an acceptance rate). Replacing the assumption with the paper's own "
               "number, and naming the table in `basis`, makes the method's roofline analysis its own.\n\n")
    out.append('<div markdown data-search-exclude>\n\n'  # a work list, not what a search should find
               + table(["Method", "Effect", "Basis"],
                       [[_link(m), f"`{m.effect.kind}`", text(m.effect.basis or "none given")] for m in assumed])
               + "\n</div>\n")

    out.append(f"\n## Entries without a claim ({len(no_claim)})\n\n")
    out.append("No speedup or memory claim is recorded. Many of these papers report accuracy only; where the "
               "paper does give a speedup, add it with its setting and its table.\n\n")
    out.append(_by_branch(kb, no_claim))

    waiting = waiting_claims(methods)
    out.append(f"\n## Claims waiting for their setting ({len(waiting)})\n\n")
    out.append("These claims get no verdict on the Claims page because the entry does not yet hold what the "
               "roofline needs: the operator a kernel replaces (`setting.kernel`), a baseline that is another "
               "entry (`baseline_method`), the model, device and lengths the number was measured at, or the "
               "value the paper timed it at (`setting.effect`). The paper's table or its official README closes "
               "the gap; the reason says what was missing when we looked.\n\n")
    out.append('<div class="kb-cards" markdown data-search-exclude>\n\n'  # cards on a phone, as on Claims
               + table(["Method", "Claim", "Why not yet"],
                       [[_link(m), f"{text(METRIC_LABELS[m.claims[i].metric])} {m.claims[i].value:g}x "
                         f"({text(m.claims[i].source)})", text(why)] for m, i, why in waiting])
               + "\n</div>\n")

    out.append(f"\n## Entries without a venue ({len(no_venue)})\n\n")
    out.append("No venue is recorded. Many are arXiv-only; where a proceedings page lists the paper, add the "
               "venue (or `published_as` when it appeared under another title).\n\n")
    out.append(_by_branch(kb, no_venue))
    out += _sources_to_improve(kb)
    return "".join(out)
