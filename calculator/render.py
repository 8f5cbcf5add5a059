"""Text renderings of a `Result`: a readable table, CSV and Markdown (JSON is `Result.to_dict`)."""

from __future__ import annotations

from calculator.result import Result
from calculator.units import number, seconds, si

__all__ = ["to_csv", "to_markdown", "to_table"]

_CSV_COLUMNS = ("stage", "layer", "count", "ops", "bytes", "arithmetic_intensity",
                "attainable_ops_per_s", "bound", "time_s", "format", "value")


def _quant(result: Result) -> str:
    s = result.settings
    text = f"W{s.w_bits}A{s.a_bits}KV{s.kv_bits}"
    if s.group_size:
        text += f" g{s.group_size}"
    if s.kv_group_size:
        text += f" kv-g{s.kv_group_size}"
    if s.number_format == "fp" and min(s.w_bits, s.a_bits) < 16:
        text += " (fp)"
    return text


def _header(result: Result) -> list[str]:
    m, hw, s = result.model, result.hardware, result.settings
    fmt = result.formats["linear"]
    peak = hw.peaks[fmt]
    parts = [f"batch {s.batch}", f"seq-len {s.seq_len}", _quant(result)]
    if s.flash_attention:
        parts.append("flash attention")
    if s.tp > 1:
        parts.append(f"tp {s.tp}")
    return [
        f"{m.name} ({m.id}) on {hw.name} ({hw.id})",
        ", ".join(parts),
        f"linear layers at {fmt} peak {si(peak)}OPS, bandwidth {si(hw.memory_bandwidth)}B/s, "
        f"ridge point {number(peak / hw.memory_bandwidth)} ops/byte",
    ]


def _memory_lines(result: Result) -> list[str]:
    mem = result.memory
    fits = {True: "fits", False: "does NOT fit", None: "capacity unknown"}[mem.fits]
    capacity = f" of {si(mem.capacity_bytes)}B" if mem.capacity_bytes else ""
    per = " per device" if result.settings.tp > 1 else ""
    return [
        f"memory{per}: weights {si(mem.weights_bytes)}B, KV cache {si(mem.kv_cache_bytes)}B, "
        f"activations {si(mem.activations_bytes)}B, total {si(mem.total_bytes)}B{capacity}: {fits}"
    ]


def _generate_lines(result: Result) -> list[str]:
    g = result.generate
    if g is None:
        return []
    rate = g.decode_tokens_per_s
    decode_rate = f", decode {number(rate)} tokens/s" if rate else ""
    return [
        f"generate (prompt {g.prompt_len}, {g.gen_len} tokens, batch {g.batch}): "
        f"TTFT {seconds(g.ttft_s)}, time per output token {seconds(g.time_per_output_token_s)}, "
        f"end-to-end {seconds(g.e2e_latency_s)}, {number(g.tokens_per_s)} tokens/s{decode_rate}"
    ]


def _expected_lines(result: Result) -> list[str]:
    """The expected times (calculator.expected) beside the bounds: one line."""
    from calculator.expected import expected_summary

    ex = expected_summary(result)
    kind = f"calibrated, {ex['device_class']}" if ex["calibrated"] else "uncalibrated: equals the bound"
    parts = [f"{name} {seconds(t)} (bound {seconds(result.stages[name].time_s)})" for name, t in ex["stages"].items()]
    gen = ex.get("generate")
    if gen is not None:
        parts.append(f"generate: TTFT {seconds(gen['ttft_s'])}, time per output token "
                     f"{seconds(gen['time_per_output_token_s'])}, end-to-end {seconds(gen['e2e_latency_s'])}, "
                     f"{number(gen['tokens_per_s'])} tokens/s")
    return [f"expected ({kind}; see docs/accuracy.md): " + "; ".join(parts)]


def _cells(row) -> list[str]:
    return [
        row.name,
        str(row.count),
        si(row.ops),
        si(row.bytes),
        number(row.arithmetic_intensity),
        si(row.attainable_ops_per_s),
        row.bound,
        seconds(row.time_s),
    ]


_HEAD = ["layer", "count", "OPs", "bytes", "AI", "attainable", "bound", "time"]


def _stage_rows(stage) -> list[list[str]]:
    rows = [_cells(row) for row in stage.layers]
    ai = stage.ops / stage.bytes if stage.bytes else float("inf")
    rows.append(["total", "", si(stage.ops), si(stage.bytes), number(ai), "", "",
                 seconds(stage.time_s)])
    return rows


def to_table(result: Result) -> str:
    """A plain-text report: header, one table per stage (values per occurrence, totals = sum of
    count x value), memory footprint, generate summary and notes."""
    lines = _header(result)
    for stage in result.stages.values():
        rows = [_HEAD] + _stage_rows(stage)
        widths = [max(len(r[c]) for r in rows) for c in range(len(_HEAD))]
        lines += ["", f"{stage.name} (values per layer occurrence; time per occurrence)"]
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [r[c].rjust(widths[c]) for c in range(1, len(r))]
            lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines += _memory_lines(result)
    lines += _generate_lines(result)
    lines += _expected_lines(result)
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _csv_value(value) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)


def to_csv(result: Result) -> str:
    """One line per layer and stage (plus a `total` line per stage), raw numbers in SI units; then the
    footprint (stage `memory`) and the request summary (stage `generate`, when computed): one line per
    quantity, its name in `layer` (the names of `--format json`) and its number in `value`."""
    out = [",".join(_CSV_COLUMNS)]
    for stage in result.stages.values():
        for row in stage.layers:
            out.append(",".join((stage.name, row.name, str(row.count), repr(row.ops), repr(row.bytes),
                                 repr(row.arithmetic_intensity), repr(row.attainable_ops_per_s),
                                 row.bound, repr(row.time_s), row.format, "")))
        ai = stage.ops / stage.bytes if stage.bytes else float("inf")
        out.append(",".join((stage.name, "total", "", repr(stage.ops), repr(stage.bytes), repr(ai),
                             "", "", repr(stage.time_s), "", "")))
    summaries = [("memory", result.memory.to_dict())]
    if result.generate is not None:
        summaries.append(("generate", result.generate.to_dict()))
    blank = [""] * (len(_CSV_COLUMNS) - 3)
    for name, values in summaries:
        out += [",".join([name, key, *blank, _csv_value(value)]) for key, value in values.items()]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Escape text for a Markdown table cell or line (contributed names are data, not markup)."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def to_markdown(result: Result) -> str:
    """Markdown: a title line, one pipe table per stage, memory and generate as bullet points."""
    head = _header(result)
    lines = [f"**{_md(head[0])}**", "", _md(head[1]) + "  ", _md(head[2]), ""]
    for stage in result.stages.values():
        lines += [f"**{stage.name}**", "", "| " + " | ".join(_HEAD) + " |",
                  "|" + "|".join(["---"] + ["---:"] * 5 + ["---", "---:"]) + "|"]
        for r in _stage_rows(stage):
            lines.append("| " + " | ".join(_md(cell) for cell in r) + " |")
        lines.append("")
    lines += ["- " + _md(line) for line in _memory_lines(result) + _generate_lines(result) + _expected_lines(result)]
    lines += ["- note: " + _md(note) for note in result.notes]
    return "\n".join(lines) + "\n"
