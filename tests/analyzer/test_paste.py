"""What a paste adds is undone before any reader sees the text (``_paste.unpasted``), and a
mail's wrap is joined back (``_unwrap.unwrapped``), in the kept text of every member."""

from __future__ import annotations

from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from lostbeat.analyzer._paste import unpasted
from lostbeat.analyzer._sink import KeptText
from lostbeat.analyzer._unwrap import WIDEST, unwrapped

OOM = (
    "[ 4242.123456] Out of memory: Killed process 31337 (java) total-vm:8123456kB, "
    "anon-rss:7890123kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:15800kB "
    "oom_score_adj:0\n"
)


def _kept(text: str) -> str:
    return "".join(KeptText(deque([text.encode()])))


def test_a_log_as_the_host_wrote_it_is_left_as_it_is():
    head = "[ 4242.100000] java invoked oom-killer: gfp_mask=0x100cca, order=0\n"
    text = head * 3 + OOM
    assert unwrapped(text) == text
    assert _kept(text) == text


def test_a_wrapped_record_is_joined_on_its_first_line_and_keeps_every_line_number():
    wrapped = (
        "[ 4242.100000] java invoked oom-killer: gfp_mask=0x100cca, order=0,\n"
        "oom_score_adj=0\n"
        "[ 4242.123456] Out of memory: Killed process 31337 (java) total-vm:8123456kB,\n"
        "anon-rss:7890123kB, file-rss:0kB\n"
        "[ 4242.200000] oom_reaper: reaped process 31337 (java), now anon-rss:0kB\n"
    )
    lines = _kept(wrapped).split("\n")
    assert len(lines) == wrapped.count("\n") + 1
    assert lines[2] == (
        "[ 4242.123456] Out of memory: Killed process 31337 (java) total-vm:8123456kB, "
        "anon-rss:7890123kB, file-rss:0kB"
    )
    assert lines[1] == lines[3] == ""


def test_indented_and_short_lines_are_no_wrap():
    text = (
        "2023-08-10 16:53:26,460: Memory status that requires corrective actions now:\n"
        "  MemAvailable [383 MiB, 5.0 %] <= soft_threshold_min_mem [384 MiB, 5.0 %]\n"
        "2023-08-10 16:53:26,463: TOP printed in 1ms; process with highest badness:\n"
        "2023-08-10 16:53:26,463: Recheck.\n"
        "ok\n"
    )
    assert unwrapped(text) == text


def test_what_a_page_or_an_editor_adds_is_mapped_back():
    pasted = "\ufeff[\u00a013.9] Killed process 7 (\u2018a\u2019) &gt;&amp;lt; \u2014 \u2026\n"
    assert unpasted(pasted) == "[ 13.9] Killed process 7 ('a') >&lt; -- \u2026\n"
    assert _kept(pasted) == unpasted(pasted)


def test_a_large_member_is_mapped_back_piece_by_piece():
    line = "Jun  3 10:11:12 host kernel: Out of\u00a0memory: Killed process 7 (a)\n"
    text = "\ufeff" + line * (2 * 1024 * 1024 // len(line))  # past the whole-text size
    kept = _kept(text)
    assert "\u00a0" not in kept and "\ufeff" not in kept
    assert kept.count("\n") == text.count("\n")


@given(st.text(alphabet=st.sampled_from(list("ab [1.0]\n\t>"))), st.integers(0, 5))
def test_unwrapping_keeps_the_lines_and_a_long_line_stops_it(text, extra):
    out = unwrapped(text)
    assert out.count("\n") == text.count("\n")
    assert "".join(out.split()) == "".join(text.split())  # only blanks move
    long_line = "x " * (WIDEST // 2 + extra + 1)
    assert unwrapped(long_line + "\n" + text) == long_line + "\n" + text


@given(st.text())
def test_a_second_pass_changes_nothing(text):
    once = unpasted(text)
    assert unpasted(once) == once or "&" in once


def test_a_text_powershell_saved_as_utf16_is_read_as_text():
    text = "Jun  3 10:11:12 host kernel: Out of memory: Killed process 7 (a)\n" * 5000
    for codec in ("utf-16", "utf-16-be"):
        data = text.encode(codec)
        if codec == "utf-16-be":
            data = b"\xfe\xff" + data
        odd = deque([data[:12345], data[12345:70001], data[70001:]])  # code units cut
        assert "".join(KeptText(odd)) == text
        big = deque([data * 3])  # past the whole-text size: read in pieces
        assert "".join(KeptText(big)).count("Killed process 7 (a)") == 15000


def test_a_numbered_log_a_mail_wrapped_is_joined_back_by_what_follows_each_number() -> None:
    text = (
        "  801\t2031-02-03T04:05:06.100+01:00 db7 kernel: INFO: task kswapd0:77 blocked for\n"
        "  802\tmore than 480 seconds.\n"
        "  803\t2031-02-03T04:05:06.200+01:00 db7 kernel:       Tainted: G  OE  5.14.0 #2\n"
        "  804\t2031-02-03T04:05:06.300+01:00 db7 kernel: task:kswapd0 state:D stack:0\n"
    )
    out = unwrapped(text).split("\n")
    assert out[0].endswith("task kswapd0:77 blocked for more than 480 seconds.")
    assert out[0].startswith("  801\t2031-02-03T04:05:06.100")
    assert out[1] == ""
    assert out[2:] == text.split("\n")[2:]


def test_numbers_that_do_not_count_up_are_a_log_s_own_and_read_as_text() -> None:
    text = (
        "4242 2031-02-03T04:05:06 db7 kernel: Out of memory: Killed process 4242 (java)\n"
        "4242 more words after it\n"
        "17 2031-02-03T04:05:07 db7 kernel: oom_reaper: reaped process 4242 (java)\n"
    )
    assert unwrapped(text) == text
