from __future__ import annotations

from lostbeat.analyzer.rules.memory import judge_memory


def test_the_articles_arithmetic(make):
    # KB 308590: swap 567468032 bytes of SwapTotal 554168 kB is 100 %;
    # VMap 586196 KB of MemTotal 799732 kB is 73 % (the article prints 69 %, which is
    # 541 MB / 780 MB, swap over RAM)
    lines = [
        make.hb(
            1_258_099_291,
            [("VMap", 583524), ("vmware-h", 82812), ("webAcces", 27332)],
            swap=567468032,
        ),
        make.hb(
            1_258_102_905,
            [("VMap", 586196), ("vmware-h", 83180), ("webAcces", 27292)],
            swap=567468032,
        ),
    ]
    facts = make.facts(lines, meminfo=make.meminfo(799732, 554168))
    judged = judge_memory(facts)
    m = judged.memory
    assert m.swap_used_percent == 100.0
    assert m.top_process == "VMap"
    assert m.top_process_kb == 586196
    assert m.top_process_ram_percent == 73.3
    assert m.swap_danger_at == 1_258_099_291
    assert m.ram_danger_at == 1_258_099_291
    assert judged.findings[0].severity.value == "warning"
    assert "100 %" in judged.findings[0].detail


def test_unknown_totals_stay_unknown(make):
    facts = make.facts([make.hb(1_000_000, [("vpxa", 1000)], swap=4096)])
    m = judge_memory(facts).memory
    assert m.swap_used_percent is None
    assert m.top_process_ram_percent is None
    assert m.swap_used_bytes == 4096
