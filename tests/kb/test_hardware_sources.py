"""Device files: every number listed in some source's fields; third-party sources flagged and listed on Help wanted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kb.gaps import third_party_fields
from kb.schema import Hardware, Source

BASE = dict(id="toy", name="Toy", vendor="Nobody", kind="gpu", segment="consumer", year=2024,
            memory_gib=16, memory_bandwidth_gb_s=1000, peak_tops={"fp16": 100, "int8": 200})
VENDOR = "https://www.nvidia.com/datasheet.pdf"
SPEC_SITE = "https://spec-database.example/toy"


def device(sources, **extra) -> Hardware:
    return Hardware(**{**BASE, **extra, "sources": sources})


def test_every_number_needs_a_source():
    with pytest.raises(ValidationError, match="peak_tops.int8: no source lists this field"):
        device([{"url": VENDOR, "fields": ["memory_gib", "memory_bandwidth_gb_s", "peak_tops.fp16"]}])


def test_a_link_without_a_source_is_refused():
    with pytest.raises(ValidationError, match="host_link: no source lists this field"):
        device([{"url": VENDOR, "fields": ["memory_gib", "memory_bandwidth_gb_s", "peak_tops"]}],
               host_link={"name": "PCIe 4.0 x16", "bandwidth_gb_s": 64})


def test_whole_groups_and_all_cover_their_fields():
    device([{"url": VENDOR, "fields": ["memory_gib", "memory_bandwidth_gb_s", "peak_tops"]}])
    device([{"url": VENDOR, "fields": ["all"]}], host_link={"name": "PCIe 4.0 x16", "bandwidth_gb_s": 64})


def test_a_misspelt_source_field_is_refused():
    with pytest.raises(ValidationError, match="unknown field 'memory_bandwith_gb_s'"):
        device([{"url": VENDOR, "fields": ["all", "memory_bandwith_gb_s"]}])


def test_unified_memory_excludes_a_host_link():
    with pytest.raises(ValidationError, match="exclude each other"):
        device([{"url": VENDOR, "fields": ["all"]}], unified_memory=True,
               host_link={"name": "PCIe 4.0 x16", "bandwidth_gb_s": 64})


def test_alternative_figures_name_a_real_field():
    alt = {"field": "memory_bandwidth_gb_s", "value": 960, "url": VENDOR, "note": "older datasheet"}
    assert device([{"url": VENDOR, "fields": ["all"]}], alternatives=[alt]).alternatives[0].value == 960
    with pytest.raises(ValidationError, match="alternatives: unknown field"):
        device([{"url": VENDOR, "fields": ["all"]}], alternatives=[{**alt, "field": "bandwidth"}])


def test_third_party_by_domain_unless_stated():
    assert not Source(url=VENDOR, fields=["all"]).third_party
    assert Source(url=SPEC_SITE, fields=["all"]).third_party
    assert not Source(url=SPEC_SITE, fields=["all"], kind="vendor").third_party
    assert Source(url=VENDOR, fields=["all"], kind="third-party").third_party


def test_fields_resting_on_third_party_pages_only_are_listed():
    hw = device([{"url": VENDOR, "fields": ["memory_gib", "peak_tops.fp16"]},
                 {"url": SPEC_SITE, "fields": ["memory_bandwidth_gb_s", "peak_tops"]}])
    assert third_party_fields(hw) == ["memory_bandwidth_gb_s", "peak_tops.int8"]


def test_help_wanted_lists_third_party_devices_and_missing_host_links():
    from pathlib import Path

    from kb.gaps import gaps_page
    from kb.load import load

    kb = load(Path(__file__).resolve().parents[2])
    page = gaps_page(kb)
    assert "## Sources to improve: device numbers from third-party pages" in page
    assert "## Devices without a host link" in page
    weak = [hw.id for hw in kb.hardware.values() if third_party_fields(hw)]
    assert weak and all(f"`{i}`" in page for i in weak)
    for hw in kb.hardware.values():  # every device either has a host link, computes out of host memory, or is listed
        assert hw.host_link or hw.unified_memory or f"`{hw.id}`" in page.split("## Devices without a host link")[1]
