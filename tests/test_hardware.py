"""Choosing the precision for the CPU: bfloat16 only where the CPU computes it natively."""

from __future__ import annotations

import pytest

from digitrec.hardware import PRECISION_ENV, choose_precision, parse_cpuinfo, this_cpu

# Trimmed from real /proc/cpuinfo files: an AVX2-only EPYC, a Sapphire Rapids Xeon, a Zen 4
# EPYC, and two ARM cores (Neoverse N1 without BF16, Neoverse V1 with it).
EPYC_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni
"""
XEON_AMX = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8481C
flags\t\t: sse4_2 avx fma avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""
EPYC_ZEN4 = """model name\t: AMD EPYC 9B14
flags\t\t: avx2 fma avx512f avx512_vnni avx512_bf16
"""
NEOVERSE_N1 = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer\t: 0x41
"""
NEOVERSE_V1 = """processor\t: 0
Features\t: fp asimd aes pmull sha1 sha2 crc32 atomics asimddp sve i8mm bf16 svebf16
CPU implementer\t: 0x41
"""


@pytest.fixture(autouse=True)
def no_precision_setting(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)


@pytest.mark.parametrize(
    ("text", "arch", "expected", "kind"),
    [
        (EPYC_AVX2, "x86_64", "float32", "AVX2-only"),
        (XEON_AMX, "x86_64", "bfloat16", "bf16-native"),
        (EPYC_ZEN4, "x86_64", "bfloat16", "bf16-native"),
        (NEOVERSE_N1, "aarch64", "float32", "no-bf16"),
        (NEOVERSE_V1, "aarch64", "bfloat16", "bf16-native"),
        ("", "arm64", "float32", "no-bf16"),  # macOS: no /proc/cpuinfo, nothing known
    ],
)
def test_auto_picks_bfloat16_only_where_the_cpu_has_it(text, arch, expected, kind):
    cpu = parse_cpuinfo(text, arch, cores=2)
    chosen = choose_precision("auto", cpu)
    assert (chosen.precision, cpu.kind) == (expected, kind)
    assert chosen.policy == {"float32": "float32", "bfloat16": "mixed_bfloat16"}[expected]


def test_the_cpu_is_described_by_its_model_and_flags():
    cpu = parse_cpuinfo(XEON_AMX, "x86_64", cores=2)
    assert cpu.model == "Intel(R) Xeon(R) Platinum 8481C"
    assert cpu.reported_flags() == ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
                                    "amx_bf16", "amx_int8"]  # fmt: skip
    assert "bf16-native" in cpu.describe() and "amx_bf16" in cpu.describe()
    assert "amx_bf16" in choose_precision("auto", cpu).reason


def test_an_option_or_the_setting_forces_a_precision(monkeypatch):
    avx2, xeon = parse_cpuinfo(EPYC_AVX2, "x86_64"), parse_cpuinfo(XEON_AMX, "x86_64")
    assert choose_precision("bfloat16", avx2).precision == "bfloat16"
    assert choose_precision("float32", xeon).precision == "float32"
    monkeypatch.setenv(PRECISION_ENV, "float32")
    assert choose_precision("auto", xeon).precision == "float32"  # the setting beats auto
    assert choose_precision(None, xeon).setting == "float32"
    assert choose_precision("bfloat16", xeon).precision == "bfloat16"  # an option beats it
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(ValueError, match=f"unknown precision 'half'.*{PRECISION_ENV}"):
        choose_precision("auto", xeon)


def test_this_machine_is_read():
    cpu = this_cpu()
    assert cpu.cores >= 1 and cpu.model and cpu.arch
    assert choose_precision("auto", cpu).precision in ("float32", "bfloat16")


def test_a_profile_computes_every_model_in_the_chosen_precision():
    from digitrec.modeling.profiles import augmented_config, get_profile

    for policy in ("float32", "mixed_bfloat16"):
        plan = get_profile("standard", policy, augmented_epochs=3)
        recipes = [plan.baseline, *plan.candidates]
        recipes.append(augmented_config(plan, plan.candidates[0], 0, None))
        assert {r.precision for r in recipes} == {policy} and recipes[-1].epochs == 3
