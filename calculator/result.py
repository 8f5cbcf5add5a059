"""What an analysis returns: rows of layers, stage totals, the memory footprint, a generate summary.

Rows are tuples (cheap to build by the thousand); derived values such as the arithmetic intensity
are properties computed on access. `Result.to_dict()` gives the JSON shape of DESIGN.md.
"""

from __future__ import annotations

from operator import itemgetter

__all__ = ["Generate", "Layer", "Memory", "Result", "Stage"]


class Layer(tuple):
    """One layer occurrence: its values are for ONE of the `count` identical layers.

    Fields: name, count, ops, bytes, time_s, bound, format, peak_ops_per_s.
    `bytes` is DRAM traffic, except for all-reduce rows where it is the bytes each device sends
    over the interconnect (their `bound` is ``interconnect`` and `format` is ``link``).
    """

    __slots__ = ()

    name = property(itemgetter(0))
    count = property(itemgetter(1))
    ops = property(itemgetter(2))
    bytes = property(itemgetter(3))
    time_s = property(itemgetter(4))
    bound = property(itemgetter(5))
    format = property(itemgetter(6))
    peak_ops_per_s = property(itemgetter(7))

    @property
    def arithmetic_intensity(self) -> float:
        """ops / bytes (ops per byte of DRAM traffic)."""
        return self[2] / self[3] if self[3] else float("inf")

    @property
    def attainable_ops_per_s(self) -> float:
        """ops / time_s, which equals min(peak, arithmetic_intensity x bandwidth) for roofline rows."""
        return self[2] / self[4] if self[4] else 0.0

    def to_dict(self) -> dict:
        return {
            "name": self[0],
            "count": self[1],
            "ops": self[2],
            "bytes": self[3],
            "arithmetic_intensity": self.arithmetic_intensity,
            "attainable_ops_per_s": self.attainable_ops_per_s,
            "bound": self[5],
            "time_s": self[4],
            "format": self[6],
        }

    def __repr__(self) -> str:
        return (
            f"Layer(name={self[0]!r}, count={self[1]}, ops={self[2]:.6g}, bytes={self[3]:.6g}, "
            f"time_s={self[4]:.6g}, bound={self[5]!r}, format={self[6]!r})"
        )


class Stage:
    """The layers of one stage (prefill or decode) and their totals (sum of count x value)."""

    __slots__ = ("name", "layers", "ops", "bytes", "time_s", "interconnect_bytes")

    def __init__(self, name, layers, ops, bytes_, time_s, interconnect_bytes=0.0):
        self.name = name
        self.layers = layers
        self.ops = ops
        self.bytes = bytes_
        self.time_s = time_s
        self.interconnect_bytes = interconnect_bytes

    def layer(self, name: str) -> Layer:
        """The row called `name`; KeyError when this stage has none."""
        for row in self.layers:
            if row[0] == name:
                return row
        raise KeyError(f"stage {self.name} has no layer {name!r}")

    def __repr__(self) -> str:
        from calculator.units import seconds, si

        return (f"<Stage {self.name}: {len(self.layers)} layers, {si(self.ops)}OPs, {si(self.bytes)}B, "
                f"{seconds(self.time_s)}>")

    def to_dict(self) -> dict:
        total = {"ops": self.ops, "bytes": self.bytes, "time_s": self.time_s}
        total["arithmetic_intensity"] = self.ops / self.bytes if self.bytes else float("inf")
        if self.interconnect_bytes:
            total["interconnect_bytes"] = self.interconnect_bytes
        return {"layers": [row.to_dict() for row in self.layers], "total": total}


class Memory:
    """Memory footprint per device: weights, KV cache at `seq_len`, peak prefill activations."""

    __slots__ = ("weights_bytes", "kv_cache_bytes", "activations_bytes", "capacity_bytes")

    def __init__(self, weights_bytes, kv_cache_bytes, activations_bytes, capacity_bytes):
        self.weights_bytes = weights_bytes
        self.kv_cache_bytes = kv_cache_bytes
        self.activations_bytes = activations_bytes
        self.capacity_bytes = capacity_bytes

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.activations_bytes

    @property
    def fits(self) -> bool | None:
        """total <= device capacity; None when the capacity is unknown."""
        if not self.capacity_bytes:
            return None
        return self.total_bytes <= self.capacity_bytes

    def __repr__(self) -> str:
        from calculator.units import si

        fits = {True: "fits", False: "does not fit", None: "capacity unknown"}[self.fits]
        return (f"<Memory: weights {si(self.weights_bytes)}B, KV cache {si(self.kv_cache_bytes)}B, activations "
                f"{si(self.activations_bytes)}B, total {si(self.total_bytes)}B, {fits}>")

    def to_dict(self) -> dict:
        return {
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "activations_bytes": self.activations_bytes,
            "total_bytes": self.total_bytes,
            "capacity_bytes": self.capacity_bytes,
            "fits": self.fits,
        }


class Generate:
    """A whole request: prompt of `prompt_len` tokens, `gen_len` tokens generated, per sequence."""

    __slots__ = (
        "prompt_len",
        "gen_len",
        "batch",
        "ttft_s",
        "decode_time_s",
        "kv_cache_bytes_end",
        "memory_end_bytes",
        "capacity_bytes",
    )

    def __init__(self, prompt_len, gen_len, batch, ttft_s, decode_time_s, kv_cache_bytes_end,
                 memory_end_bytes, capacity_bytes):
        self.prompt_len = prompt_len
        self.gen_len = gen_len
        self.batch = batch
        self.ttft_s = ttft_s
        self.decode_time_s = decode_time_s
        self.kv_cache_bytes_end = kv_cache_bytes_end
        self.memory_end_bytes = memory_end_bytes
        self.capacity_bytes = capacity_bytes

    @property
    def time_per_output_token_s(self) -> float:
        """Mean decode step time over the gen_len - 1 steps after the first token (0 if none)."""
        steps = self.gen_len - 1
        return self.decode_time_s / steps if steps else 0.0

    @property
    def e2e_latency_s(self) -> float:
        return self.ttft_s + self.decode_time_s

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens of all sequences per second of end-to-end latency."""
        return self.batch * self.gen_len / self.e2e_latency_s

    @property
    def decode_tokens_per_s(self) -> float | None:
        """batch / time_per_output_token: the decode-phase throughput (None without decode steps)."""
        tpot = self.time_per_output_token_s
        return self.batch / tpot if tpot else None

    @property
    def fits_end(self) -> bool | None:
        if not self.capacity_bytes:
            return None
        return self.memory_end_bytes <= self.capacity_bytes

    def to_dict(self) -> dict:
        return {
            "prompt_len": self.prompt_len,
            "gen_len": self.gen_len,
            "batch": self.batch,
            "ttft_s": self.ttft_s,
            "time_per_output_token_s": self.time_per_output_token_s,
            "e2e_latency_s": self.e2e_latency_s,
            "tokens_per_s": self.tokens_per_s,
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "kv_cache_bytes_end": self.kv_cache_bytes_end,
            "memory_end_bytes": self.memory_end_bytes,
            "fits_end": self.fits_end,
        }


class Result:
    """An analysis: inputs, the stages asked for, memory, the generate summary and notes."""

    __slots__ = ("model", "hardware", "settings", "stages", "memory", "generate", "formats", "notes")

    def __init__(self, model, hardware, settings, stages, memory, generate, formats, notes):
        self.model = model
        self.hardware = hardware
        self.settings = settings
        self.stages = stages
        self.memory = memory
        self.generate = generate
        self.formats = formats
        self.notes = notes

    def __repr__(self) -> str:
        """A summary line per stage, then memory: what a notebook or the REPL shows."""
        lines = [f"<Result {self.model.id} on {self.hardware.id}, batch {self.settings.batch}, "
                 f"seq_len {self.settings.seq_len}, W{self.settings.w_bits}A{self.settings.a_bits}"
                 f"KV{self.settings.kv_bits}"]
        lines += [f"  {stage!r}" for stage in self.stages.values()]
        lines.append(f"  {self.memory!r}>")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """Jupyter shows the Markdown rendering: one table per stage, memory and the generate summary."""
        from calculator.render import to_markdown

        return to_markdown(self)

    @property
    def prefill(self) -> Stage | None:
        return self.stages.get("prefill")

    @property
    def decode(self) -> Stage | None:
        return self.stages.get("decode")

    def to_dict(self) -> dict:
        from calculator import __version__

        out = {
            "calculator_version": __version__,
            "model": self.model.to_dict(),
            "hardware": self.hardware.to_dict(),
            "settings": self.settings.to_dict(),
            "compute_formats": dict(self.formats),
            "stages": {name: stage.to_dict() for name, stage in self.stages.items()},
            "memory": self.memory.to_dict(),
        }
        if self.generate is not None:
            out["generate"] = self.generate.to_dict()
        from calculator.expected import annotate

        annotate(self, out)  # expected_time_s beside time_s (calculator/expected.py)
        out["notes"] = list(self.notes)
        return out
