"""The CPU a run computes on, and the precision chosen for it. bfloat16 pays only where the CPU
computes it natively: emulated on an AVX2-only CPU it trained 7.5x slower than float32
(bench/RESULTS.md), so `auto` picks it only from the CPU's own flags."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

PrecisionSetting = Literal["auto", "float32", "bfloat16"]  # what a user or a profile asks for
PRECISION_SETTINGS: tuple[str, ...] = ("auto", "float32", "bfloat16")
PRECISION_ENV = "DIGITREC_PRECISION"  # the setting when no option names one
# Keras dtype policy per concrete precision: bfloat16 computes on float32 weights.
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
X86_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # native bfloat16 dot products on x86
ARM_BF16_FLAGS = ("bf16",)  # Armv8.6 BF16 (the `Features` line of /proc/cpuinfo)
# Flags worth naming beside every timing: what bfloat16, int8 and wide vectors run on.
REPORTED_FLAGS = (
    "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
    "amx_int8", "asimd", "asimddp", "bf16", "i8mm",
)  # fmt: skip


@dataclass(frozen=True)
class CpuInfo:
    """What matters of a CPU for choosing how to compute."""

    model: str
    arch: str
    cores: int
    flags: frozenset[str]

    @property
    def native_bf16(self) -> bool:
        """Whether the CPU computes bfloat16 dot products in hardware."""
        wanted = ARM_BF16_FLAGS if self.arch in ("aarch64", "arm64") else X86_BF16_FLAGS
        return any(flag in self.flags for flag in wanted)

    @property
    def kind(self) -> str:
        """'bf16-native' or 'no-bf16' (on x86 without it: 'AVX2-only' where AVX2 is there)."""
        if self.native_bf16:
            return "bf16-native"
        return "AVX2-only" if "avx2" in self.flags else "no-bf16"

    def reported_flags(self) -> list[str]:
        return [flag for flag in REPORTED_FLAGS if flag in self.flags]

    def describe(self) -> str:
        """One line for logs, reports and bench output."""
        flags = " ".join(self.reported_flags()) or "none of note"
        return f"{self.model} ({self.arch}, {self.cores} cores; {self.kind}; flags: {flags})"


@dataclass(frozen=True)
class Precision:
    """The precision a run computes in, and why."""

    setting: str  # what was asked: auto, float32 or bfloat16
    precision: str  # what was chosen: float32 or bfloat16
    reason: str
    cpu: CpuInfo

    @property
    def policy(self) -> str:
        """The Keras dtype policy that computes in this precision."""
        return POLICIES[self.precision]


def parse_cpuinfo(text: str, arch: str, cores: int = 1) -> CpuInfo:
    """A CpuInfo from /proc/cpuinfo's text (x86 `flags`, ARM `Features`)."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return CpuInfo(model or platform.processor() or arch, arch, cores, frozenset(flags))


@cache
def this_cpu() -> CpuInfo:
    """This machine's CPU (without /proc/cpuinfo, as on macOS: no flags, so float32)."""
    path = Path("/proc/cpuinfo")
    text = path.read_text(errors="replace") if path.exists() else ""
    return parse_cpuinfo(text, platform.machine().lower(), os.cpu_count() or 1)


def choose_precision(setting: str | None = None, cpu: CpuInfo | None = None) -> Precision:
    """The precision for `setting` on `cpu`. An option naming float32 or bfloat16 wins; `auto`
    (or None) defers to $DIGITREC_PRECISION when it is set, else to the CPU's flags."""
    if setting in (None, "auto"):
        setting = os.environ.get(PRECISION_ENV) or "auto"
    setting = setting.strip().lower()
    if setting not in PRECISION_SETTINGS:
        raise ValueError(
            f"unknown precision {setting!r} (from {PRECISION_ENV} or an option); "
            f"choose from {', '.join(PRECISION_SETTINGS)}"
        )
    cpu = cpu or this_cpu()
    if setting != "auto":
        return Precision(setting, setting, f"{setting} was asked for", cpu)
    if cpu.native_bf16:
        flags = ", ".join(f for f in (*X86_BF16_FLAGS, *ARM_BF16_FLAGS) if f in cpu.flags)
        return Precision(setting, "bfloat16", f"the CPU computes bfloat16 natively ({flags})", cpu)
    return Precision(
        setting, "float32", "the CPU has no native bfloat16 (emulated, it is 7.5x slower)", cpu
    )
