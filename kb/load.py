"""Load the knowledge base: YAML files -> validated models, every problem reported at once.

Each problem is `path:line: field: message`. Nothing here raises for a contributor's mistake; callers
(the CLI, the MkDocs hooks) decide what to do with `KB.problems`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import bibtexparser
from pydantic import BaseModel, ValidationError

from kb.schema import Hardware, Method, ModelArch, Scenarios, Taxonomy, TaxonomyNode
from kb.yamlsafe import Loc, YamlError, line_of, parse, read_text


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass
class Category:
    """A taxonomy node with its full id and place in the tree."""

    path: str
    node: TaxonomyNode
    parent: str | None
    depth: int

    @property
    def is_leaf(self) -> bool:
        return not self.node.children

    @property
    def accepts_entries(self) -> bool:
        return self.is_leaf or self.node.accepts_entries


@dataclass
class KB:
    root: Path
    taxonomy: list[TaxonomyNode] = field(default_factory=list)
    categories: dict[str, Category] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    hardware: dict[str, Hardware] = field(default_factory=dict)
    models: dict[str, ModelArch] = field(default_factory=dict)
    scenarios: Scenarios | None = None  # kb/scenarios.yaml; None where a knowledge base has none
    sources: dict[str, str] = field(default_factory=dict)  # "method:<id>" -> repo-relative YAML path
    problems: list[Problem] = field(default_factory=list)

    def source_of(self, method_id: str) -> str:
        return self.sources[f"method:{method_id}"]

    def methods_in(self, category: str) -> list[Method]:
        """Entries placed directly in a category, by year then name."""
        found = [m for m in self.methods.values() if m.category == category]
        return sorted(found, key=lambda m: (m.year, m.name.lower()))


def _close(word: str, choices: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(matches)}?)" if matches else ""


# Names and titles reach MkDocs' templates (navigation, <title>) unescaped, so they must be plain text:
# no tags and no character references that a template filter would turn back into tags.
_MARKUP = re.compile(r"[<>]|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _markup_problem(value: str) -> str | None:
    found = _MARKUP.search(value)
    if found is None:
        return None
    if found.group() in "<>":
        return "must not contain < or > (names and titles are plain text)"
    return f"must be plain text: '{found.group()}' is an HTML character reference; write the character itself"


_PATTERN_HINTS = {
    "arxiv": "an arXiv id like 2306.00978 (quoted)",
    "id": "kebab-case like my-method-v2",
    "tags": "lower-case kebab-case like 4-bit or weight-only",
}
_TYPE_WORDS = {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list",
               dict: "a mapping", type(None): "nothing"}
_EXPECTED = {  # error type -> what the field wants, for "expected X, found Y"
    "list_type": "a list like [a, b]", "string_type": "text", "bool_type": "true or false",
    "bool_parsing": "true or false", "int_type": "a valid integer", "int_parsing": "a valid integer",
    "int_from_float": "a valid integer", "float_type": "a valid number", "float_parsing": "a valid number",
    "dict_type": "a mapping of fields (key: value)", "model_type": "a mapping of fields (key: value)",
    "model_attributes_type": "a mapping of fields (key: value)",
}
_FIELD_EXAMPLES = {
    "authors": "a list like [First Author, Second Author]",
    "aliases": "a list like [Other Name]",
    "tags": "a list like [4-bit, weight-only]",
    "value": "a plain number like 3.2 (a ratio; no 'x' or '%')",
}


def _found(value: Any) -> str:
    """A short description of a contributor's value: "'3x'", "a number (16)", "a list"."""
    if isinstance(value, str):
        return f"'{value[:60]}'" + ("..." if len(value) > 60 else "")
    words = _TYPE_WORDS.get(type(value), "a " + type(value).__name__)
    return f"{words} ({value})" if isinstance(value, (int, float)) and not isinstance(value, bool) else words


def _message(err: dict[str, Any], model: type[BaseModel], loc: Loc) -> str:
    kind, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    value = err.get("input")
    if kind == "extra_forbidden":
        return "unknown field" + _close(str(loc[-1]), _field_names(model, loc[:-1]))
    if kind == "missing":
        return "required field is missing"
    if model is Method and tuple(loc[:1]) == ("date",):
        return f"expected YYYY-MM-DD or YYYY-MM (e.g. 2023-06), found {_found(value)}"
    if kind == "string_pattern_mismatch":
        return f"'{value}' is malformed; expected {_PATTERN_HINTS.get(name, ctx.get('pattern'))}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (f"{_found(value)} is not allowed; expected one of {', '.join(choices)}"
                + _close(str(value), choices))
    if kind in _EXPECTED:
        wanted = _FIELD_EXAMPLES.get(name, _EXPECTED[kind])
        quote = "; quote it to make it text" if kind == "string_type" and isinstance(value, (int, float)) else ""
        return f"expected {wanted}, found {_found(value)}{quote}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return msg.replace("Input should be", "must be") + f", found {value}"
    if kind == "string_too_short":
        return f"needs at least {ctx.get('min_length')} characters, found {len(str(value))}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), found {ctx.get('actual_length')}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        return msg.replace("Input tag", "effect kind").replace("found using 'kind' does not match any"
                                                              " of the expected tags", "is not known; expected one of")
    if kind == "union_tag_not_found":
        return "needs a `kind` (see the effect kinds in CONTRIBUTING.md)"
    return msg[0].lower() + msg[1:] if msg else kind


# bibtexparser logs raw parse warnings ("Parsing of `@article` block aborted ..."); our report says it in one line.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

PLACEHOLDER = re.compile(r"\bTODO\b")
SURVEY_MONTH = "2024-05"  # entries first published in this month or later are after the survey
_BLOCK_WORDS = {"Preamble": "@preamble", "String": "@string", "ExplicitComment": "@comment",
                "ImplicitComment": "text outside the record"}
_ARXIV_LINK = re.compile(r"^https://(?:www\.)?arxiv\.org/(?:abs|pdf|html)/(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})"
                         r"(?:v\d+)?(?:\.pdf)?/?$")


def arxiv_of(url: str | None) -> str | None:
    """The arXiv id an arxiv.org abstract, PDF or HTML link names (version dropped), else None."""
    found = _ARXIV_LINK.match(url or "")
    return found.group(1) if found else None


_REFERENCE: tuple | None = None


def _reference() -> tuple:
    """The model, device and settings on which every entry's effect is tried (built once)."""
    global _REFERENCE
    if _REFERENCE is None:
        from calculator import FORMATS, Hardware, Model, Settings

        _REFERENCE = (Model(id="reference", hidden_size=512, intermediate_size=1408, num_hidden_layers=1024,
                            num_attention_heads=8, vocab_size=1000, max_position_embeddings=4096),
                      Hardware(id="reference", memory_bandwidth=1e12, peak_ops={f: 1e14 for f in FORMATS},
                               memory_bytes=1e12, interconnect_bandwidth=64e9),
                      Settings(batch=1, seq_len=256, gen_len=8))
    return _REFERENCE


def _finite_positive(value: float) -> bool:
    return isinstance(value, (int, float)) and 0 < value < float("inf")


def _title_key(title: str) -> str:
    """A title compared modulo braces, case, spacing and TeX math markup: {AWQ}: Activation-aware ... equals
    AWQ: activation-aware ..., and H$_2$O equals H2O."""
    return " ".join(re.sub(r"[{}$\\_^]", "", title).lower().split())


def _printable(value: str) -> str:
    """Escape line breaks and other invisible characters (as Python writes them) for a one-line report."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value)


def _field_names(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the (nested) model at `loc`, for "did you mean" hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return []
        ann = info.annotation
        nested = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = nested[0] if nested else ann
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's union-tag and wrapper segments so the loc follows the YAML keys."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part not in node and loc.index(part) == len(loc) - 1:
            out.append(part)  # a missing or unknown field: keep its name
    return tuple(out)


class Loader:
    """Reads files under `root` into a KB, collecting problems instead of raising."""

    def __init__(self, root: Path):
        self.kb = KB(root=root)
        self._bib_keys: dict[str, str] = {}
        self._arxiv: dict[str, str] = {}

    # -- helpers
    def rel(self, path: Path) -> str:
        """The repository-relative path; a symlink is named by where it stands, not where it points."""
        for here, root in ((path.absolute(), self.kb.root.absolute()), (path.resolve(), self.kb.root.resolve())):
            try:
                return here.relative_to(root).as_posix()
            except ValueError:
                continue
        return path.as_posix()

    def problem(self, path: Path, line: int, fld: str, message: str) -> None:
        # One problem, one output line: a contributor's key or value may hold line breaks.
        self.kb.problems.append(Problem(self.rel(path), line, _printable(fld), _printable(message)))

    def read(self, path: Path) -> tuple[Any, dict[Loc, int]] | None:
        root = self.kb.root.resolve()
        try:
            inside = path.resolve().is_relative_to(root)
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:  # refused unread: neither published nor echoed in a message
            self.problem(path, 1, "(file)", f"is a link to a file outside the repository ({root}); "
                         "put the file itself here")
            return None
        try:
            return parse(read_text(path))
        except YamlError as exc:
            fld = ".".join(str(p) for p in exc.loc) if exc.loc else "(file)"
            self.problem(path, exc.line, fld, exc.message)
        except OSError as exc:
            self.problem(path, 1, "(file)", f"cannot read: {exc.strerror}")
        return None

    def validate(self, path: Path, model: type[BaseModel], data: Any, lines: dict[Loc, int],
                 prefix: Loc = ()) -> Any:
        if not isinstance(data, dict) and not prefix:
            self.problem(path, 1, "(file)", f"expected a mapping of fields, found {_found(data)}")
            return None
        try:
            return model.model_validate(data if not prefix else {prefix[0]: data})
        except ValidationError as exc:
            seen = set()  # a union field (date: date | str) can fail twice with one message
            for err in exc.errors():
                loc = _clean_loc(tuple(err["loc"])[len(prefix):], data)
                fld = ".".join(str(p) for p in loc) or "(file)"
                report = (line_of(lines, loc), fld, _message(err, model, tuple(err["loc"])))
                if report not in seen:
                    seen.add(report)
                    self.problem(path, *report)
            return None

    def check_id(self, path: Path, entry_id: str, lines: dict[Loc, int]) -> None:
        if entry_id != path.stem:
            self.problem(path, line_of(lines, ("id",)), "id",
                         f"'{entry_id}' differs from the file name '{path.stem}'; they must match")

    # -- files
    def load_taxonomy(self, path: Path) -> None:
        read = self.read(path)
        if read is None:
            return
        data, lines = read
        if not isinstance(data, list):
            self.problem(path, 1, "(file)", "expected a list of top-level categories")
            return
        tax = self.validate(path, Taxonomy, data, lines, prefix=("roots",))
        if tax is None:
            return
        self.kb.taxonomy = tax.roots

        def walk(nodes: list[TaxonomyNode], parent: str | None, depth: int, loc: Loc) -> None:
            for i, node in enumerate(nodes):
                full = f"{parent}/{node.id}" if parent else node.id
                if full in self.kb.categories:
                    self.problem(path, line_of(lines, loc + (i, "id")), "id", f"category '{full}' is defined twice")
                self.kb.categories[full] = Category(full, node, parent, depth)
                message = _markup_problem(node.title)
                if message:
                    self.problem(path, line_of(lines, loc + (i, "title")), "title", message)
                walk(node.children, full, depth + 1, loc + (i, "children"))

        walk(tax.roots, None, 0, ())

    def load_scenarios(self, path: Path) -> None:
        """kb/scenarios.yaml (optional): every id it names must exist, each scenario and category once."""
        if not path.exists():
            return
        sc, lines = self.read_valid(path, Scenarios)
        if sc is None:
            return
        ids = set()
        for i, item in enumerate(sc.scenarios):
            if item.id in ids:
                self.problem(path, line_of(lines, ("scenarios", i, "id")), "id", f"scenario '{item.id}' is defined twice")
            ids.add(item.id)
            self.check_ids(path, lines, ("scenarios", i), item.model, item.hardware)
        seen: set[str] = set()
        choices = [("default", sc.default), ("architecture", sc.architecture)]
        choices += [(("branches", i), c) for i, c in enumerate(sc.branches)]
        for loc, choice in choices:
            loc = loc if isinstance(loc, tuple) else (loc,)
            for j, sid in enumerate(choice.scenarios):
                if sid not in ids:
                    self.problem(path, line_of(lines, loc + ("scenarios", j)), ".".join(map(str, loc + ("scenarios",))),
                                 f"unknown scenario '{sid}'" + _close(sid, ids))
            for j, cat in enumerate(choice.categories):
                where = line_of(lines, loc + ("categories", j))
                if cat not in self.kb.categories:
                    self.problem(path, where, ".".join(map(str, loc + ("categories",))),
                                 f"'{cat}' is not a category of kb/taxonomy.yaml" + _close(cat, self.kb.categories))
                elif cat in seen:
                    self.problem(path, where, ".".join(map(str, loc + ("categories",))), f"'{cat}' is listed twice")
                seen.add(cat)
        self.kb.scenarios = sc

    def read_valid(self, path: Path, model: type[BaseModel]) -> tuple[Any, dict[Loc, int]]:
        """The file read and validated against `model`, with its line map; (None, {}) after a problem."""
        read = self.read(path)
        if read is None:
            return None, {}
        data, lines = read
        return self.validate(path, model, data, lines), lines

    def load_catalogue(self, path: Path, model: type[Hardware] | type[ModelArch],
                       into: dict[str, Any]) -> None:
        entry, lines = self.read_valid(path, model)
        if entry is None:
            return
        self.check_id(path, entry.id, lines)
        into[entry.id] = entry

    def load_method(self, path: Path) -> None:
        read = self.read(path)
        if read is None:
            return
        data, lines = read
        entry: Method | None = self.validate(path, Method, data, lines)
        if entry is None:
            return
        self.check_id(path, entry.id, lines)
        plain = {("name",): entry.name, ("title",): entry.title}
        if entry.published_as:
            plain[("published_as", "title")] = entry.published_as.title
        for loc, value in plain.items():
            message = _markup_problem(value)
            if message:
                self.problem(path, line_of(lines, loc), ".".join(loc), message)
        rel = self.rel(path)
        if entry.id in self.kb.methods:
            other = self.kb.source_of(entry.id)
            self.problem(path, line_of(lines, ("id",)), "id", f"id '{entry.id}' is already used by {other}")
            return
        linked = arxiv_of(entry.links.paper)
        for fld, paper in (("arxiv", entry.arxiv), ("links.paper", linked if linked != entry.arxiv else None)):
            if not paper:
                continue
            if paper in self._arxiv:  # the same paper, whether named by its id or by a link
                self.problem(path, line_of(lines, tuple(fld.split("."))), fld,
                             f"arXiv id {paper} is already used by {self._arxiv[paper]}: one paper, one entry")
            else:
                self._arxiv[paper] = f"{rel} ({fld})"
        self.check_empty_facts(path, entry, lines)
        self.check_placeholders(path, data, lines)
        self.check_agreement(path, entry, lines)
        self.check_effect_applies(path, entry, lines)
        self.check_bibtex(path, entry.bibtex, lines, needs_author=bool(entry.authors),
                          titles=[entry.title] + ([entry.published_as.title] if entry.published_as else []))
        self.kb.methods[entry.id] = entry
        self.kb.sources[f"method:{entry.id}"] = rel
        self._lines[entry.id] = (path, lines)

    def check_empty_facts(self, path: Path, entry: Method, lines: dict[Loc, int]) -> None:
        """Fields that must stay empty: those `unconfirmed` names, and `venue` beside `published_as`."""
        if entry.published_as and entry.venue:
            self.problem(path, line_of(lines, ("venue",)), "venue", "the entry has published_as, whose venue "
                         "names where it appeared; leave venue empty (it would describe this title)")
        if not entry.authors and "authors" not in entry.unconfirmed:
            self.problem(path, line_of(lines, ("authors",)), "authors",
                         "list at least one author, or say under unconfirmed.authors why no source confirms them")
        for fact in entry.unconfirmed:
            if entry.fact_value(fact):
                self.problem(path, line_of(lines, ("unconfirmed", fact)), f"unconfirmed.{fact}",
                             f"{fact} has a value, so it cannot also be unconfirmed; remove one of the two")

    def check_placeholders(self, path: Path, data: dict, lines: dict[Loc, int]) -> None:
        """`kb new` marks what to fill in with TODO: an untouched scaffold never passes."""
        def walk(value: Any, loc: Loc) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(item, loc + (key,))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, loc + (i,))
            elif isinstance(value, str) and PLACEHOLDER.search(value):
                self.problem(path, line_of(lines, loc), ".".join(map(str, loc)),
                             f"{_found(value)} is a placeholder of `kb new`; fill it in from the paper, "
                             "or delete the field if it is optional")

        walk(data, ())

    def check_agreement(self, path: Path, entry: Method, lines: dict[Loc, int]) -> None:
        """Fields that state one fact twice must agree: year and date, after_survey and date, arXiv id and
        paper link (the bibtex title is checked with the record)."""
        month = entry.month
        if month and int(month[:4]) != entry.year:
            self.problem(path, line_of(lines, ("year",)), "year", f"{entry.year} disagrees with date {entry.date} "
                         "(both give the first public version); make them agree")
        after = month >= SURVEY_MONTH if month else (
            True if entry.year > int(SURVEY_MONTH[:4]) else False if entry.year < int(SURVEY_MONTH[:4]) else None)
        if after is not None and after != entry.after_survey:
            when = f"date {entry.date}" if month else f"year {entry.year}"
            self.problem(path, line_of(lines, ("after_survey",)), "after_survey",
                         f"is {str(entry.after_survey).lower()}, but {when} is {'not ' if not after else ''}after the "
                         f"survey ({SURVEY_MONTH} or later counts as after); set after_survey: {str(after).lower()}")
        linked = arxiv_of(entry.links.paper)
        if entry.arxiv and linked and linked != entry.arxiv:
            self.problem(path, line_of(lines, ("links", "paper")), "links.paper",
                         f"links to arXiv {linked}, but arxiv is {entry.arxiv}; both must name the same paper")

    def check_serving_compares(self, path: Path, entry: Method, lines: dict[Loc, int]) -> None:
        """A serving effect is never applied to one run: it is compared as two servers (calculator.serving.compare,
        what its page and claims show), here on the reference model and device, with each claim's changes."""
        from calculator import CalculatorError
        from calculator.serving import compare
        from kb.analysis import serving_effect

        model, device, settings = _reference()
        for where, claim in [(("effect",), None)] + [(("claims", i, "setting", "serving"), c)
                                                      for i, c in enumerate(entry.claims) if c.setting.serving]:
            try:
                out = compare(model, device, settings, serving_effect(entry, claim))
                if out["gain"] is not None and not _finite_positive(out["gain"]):
                    raise CalculatorError(f"it gives a non-finite or zero gain ({out['gain']})")
            except CalculatorError as exc:
                self.problem(path, line_of(lines, where), ".".join(map(str, where)),
                             f"the serving comparison cannot run: {exc}")

    def check_effect_applies(self, path: Path, entry: Method, lines: dict[Loc, int]) -> None:
        """An entry that checks is an entry that analyses: the effect goes through the calculator itself, on a
        reference model and device that have everything an effect may ask for (every compute format, a host
        link; the draft or student is the reference model), so whatever the calculator refuses whatever the
        model, kb check refuses with the calculator's own words. Effects that are analysed against named
        catalogue models (`architecture`) are checked by the build's analysis."""
        effect = entry.effect.model_dump(exclude_none=True)
        if effect.get("kind") in ("none", "architecture"):
            return
        if effect.get("kind") == "serving":
            self.check_serving_compares(path, entry, lines)
            return
        from calculator import CalculatorError
        from calculator.effects import apply_effect

        model, device, settings = _reference()
        try:
            out = apply_effect(model, device, settings, effect, draft=model, student=model,
                               host_bandwidth=device.interconnect_bandwidth)
            numbers = (out.decode_token_s, out.prefill.time_s, out.memory.total_bytes)
            if not all(map(_finite_positive, numbers)):
                raise CalculatorError(f"it gives a non-finite or zero time or memory ({numbers})")
        except CalculatorError as exc:
            self.problem(path, line_of(lines, ("effect",)), "effect", f"the calculator cannot apply it: {exc}")
        except Exception as exc:  # noqa: BLE001 (a bug of the calculator's; reported here, not in the build)
            self.problem(path, line_of(lines, ("effect",)), "effect",
                         f"the calculator fails on it ({type(exc).__name__}: {exc}); please report this")

    def check_bibtex(self, path: Path, text: str, lines: dict[Loc, int], needs_author: bool = True,
                     titles: list[str] | None = None) -> None:
        line = line_of(lines, ("bibtex",))
        library = bibtexparser.parse_string(text)
        blocks = [b for b in library.blocks if not (isinstance(b, bibtexparser.model.ImplicitComment)
                                                    and not b.comment.strip())]
        if library.failed_blocks or len(library.entries) != 1 or len(blocks) != 1:
            extra = sorted({type(b).__name__ for b in blocks if not isinstance(b, bibtexparser.model.Entry)})
            self.problem(path, line, "bibtex",
                         "must hold exactly one well-formed BibTeX record (@type{key, field = {...}, ...})"
                         + (" and nothing else (found: " + ", ".join(_BLOCK_WORDS.get(e, e) for e in extra) + ")"
                            if extra and not library.failed_blocks else ""))
            return
        record = library.entries[0]
        required = ("title", "author", "year") if needs_author else ("title", "year")
        missing = [f for f in required if f not in record.fields_dict]
        if missing:
            self.problem(path, line, "bibtex", f"record lacks {', '.join(missing)}")
        if not needs_author and "author" in record.fields_dict:
            self.problem(path, line, "bibtex", "record names authors that the entry leaves unconfirmed")
        if titles and "title" in record.fields_dict:
            bib_title = str(record.fields_dict["title"].value)
            if _title_key(bib_title) not in {_title_key(t) for t in titles}:
                self.problem(path, line, "bibtex", f"record title '{bib_title[:80]}' differs from title "
                             f"'{titles[0][:80]}' (braces and case aside); make them the same paper's title")
        if record.key in self._bib_keys:
            self.problem(path, line, "bibtex", f"key '{record.key}' is already used by {self._bib_keys[record.key]}")
        else:
            self._bib_keys[record.key] = self.rel(path)

    # -- cross-file rules, once everything is read
    def check_references(self) -> None:
        cats = self.kb.categories
        for entry_id, (path, lines) in self._lines.items():
            entry = self.kb.methods[entry_id]
            cat = cats.get(entry.category)
            line = line_of(lines, ("category",))
            if cats and cat is None:
                self.problem(path, line, "category", f"'{entry.category}' is not a category of kb/taxonomy.yaml"
                             + _close(entry.category, cats))
            elif cat is not None and not cat.accepts_entries:
                leaves = [c.path for c in cats.values() if c.path.startswith(entry.category + "/")
                          and c.accepts_entries]
                self.problem(path, line, "category", f"'{entry.category}' is not a taxonomy leaf; expected one of "
                             + ", ".join(leaves[:6]))
            expected_dir = self.kb.root / "kb" / "methods" / entry.category
            if cat is not None and path.parent.resolve() != expected_dir.resolve():
                self.problem(path, line, "category", f"file must live in kb/methods/{entry.category}/")
            for i, claim in enumerate(entry.claims):
                self.check_ids(path, lines, ("claims", i, "setting"), claim.setting.model, claim.setting.hardware)
                scenario = claim.setting.scenario
                known = {sc.id for sc in self.kb.scenarios.scenarios} if self.kb.scenarios else set()
                if scenario and scenario not in known:
                    loc = ("claims", i, "setting", "scenario")
                    self.problem(path, line_of(lines, loc), ".".join(map(str, loc)),
                                 f"unknown scenario '{scenario}' (kb/scenarios.yaml)" + _close(scenario, known))
                other = claim.setting.baseline_method
                if other and (other not in self.kb.methods or self.kb.methods[other].effect.kind
                              in ("none", "architecture")):
                    loc = ("claims", i, "setting", "baseline_method")
                    why = "is not an entry id" if other not in self.kb.methods else "has no effect to run"
                    self.problem(path, line_of(lines, loc), ".".join(map(str, loc)),
                                 f"baseline_method '{other}' {why}" + _close(other, self.kb.methods))
            effect = entry.effect
            for attr in ("draft_model", "student", "model", "baseline"):
                self.check_ids(path, lines, ("effect",), getattr(effect, attr, None), None, attr)

    def check_ids(self, path: Path, lines: dict[Loc, int], loc: Loc, model: str | None,
                  hardware: str | None, model_field: str = "model") -> None:
        if model and self.kb.models and model not in self.kb.models:
            self.problem(path, line_of(lines, loc + (model_field,)), ".".join(map(str, loc + (model_field,))),
                         f"unknown model id '{model}' (kb/models)" + _close(model, self.kb.models))
        if hardware and self.kb.hardware and hardware not in self.kb.hardware:
            self.problem(path, line_of(lines, loc + ("hardware",)), ".".join(map(str, loc + ("hardware",))),
                         f"unknown hardware id '{hardware}' (kb/hardware)" + _close(hardware, self.kb.hardware))

    def run(self) -> KB:
        self._lines: dict[str, tuple[Path, dict[Loc, int]]] = {}
        base = self.kb.root / "kb"
        self.load_taxonomy(base / "taxonomy.yaml")
        for path in sorted((base / "hardware").glob("*.yaml")):
            self.load_catalogue(path, Hardware, self.kb.hardware)
        for path in sorted((base / "models").glob("*.yaml")):
            self.load_catalogue(path, ModelArch, self.kb.models)
        self.load_scenarios(base / "scenarios.yaml")
        for path in sorted((base / "methods").rglob("*.yaml")):
            self.load_method(path)
        self.check_references()
        self.kb.problems.sort()
        return self.kb


def load(root: Path | str = ".") -> KB:
    """Load and validate the whole knowledge base under `root` (the repository root)."""
    return Loader(Path(root)).run()


def check_entry(root: Path | str, path: Path | str) -> tuple[Method | None, list[Problem]]:
    """One method file validated alone, as `kb check` validates it (the rules that compare it with the other
    files aside): for `python -m calculator --method`, which must not apply an entry that does not check."""
    loader = Loader(Path(root))
    loader._lines = {}
    loader.load_method(Path(path))
    return next(iter(loader.kb.methods.values()), None), sorted(loader.kb.problems)


def format_problems(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)
