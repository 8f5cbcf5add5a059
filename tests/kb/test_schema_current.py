"""The committed JSON Schemas in schema/ equal what kb.schema generates."""

from kb.jsonschema import schema_texts


def test_committed_schemas_are_current(repo):
    for name, text in schema_texts().items():
        path = repo / "schema" / name
        assert path.exists() and path.read_text() == text, (
            f"schema/{name} is stale: run `python -m kb schema` to regenerate")
