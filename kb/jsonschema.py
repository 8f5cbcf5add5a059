"""JSON Schemas of the entry files, generated from `kb.schema` for editor completion."""

from __future__ import annotations

import json
from pathlib import Path

from kb.schema import SCHEMAS


def schema_texts() -> dict[str, str]:
    """File name -> JSON text, deterministic so a test can compare with the committed files."""
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in SCHEMAS.items()
    }


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
