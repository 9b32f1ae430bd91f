"""What a training run reports: metrics.jsonl, the device's matmul rate (for MFU), a loss-curve PNG.

The PNG comes from matplotlib when it is installed; otherwise from a small pure-Python line plot
(zlib + struct, a 3x5 pixel font for the numbers), so the trainer needs no plotting dependency.
"""
from __future__ import annotations

import json
import os
import struct
import time
import zlib

import torch


class MetricsLog:
    """Appends one JSON line per step; on resume, first drops the lines after the checkpoint's step."""

    def __init__(self, path: str, resume_step: int = 0) -> None:
        self.path = path
        kept = [r for r in read_metrics(path) if r.get("step", 0) <= resume_step] if resume_step else []
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)
        os.replace(tmp, path)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run; close() closes it

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()  # a killed run keeps every step it logged

    def close(self) -> None:
        self._file.close()


def read_metrics(path: str) -> list[dict]:
    """The records of a metrics.jsonl; a half-written last line (a killed run) is left out."""
    if not os.path.isfile(path):
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n"):
                records.append(json.loads(line))
    return records


def measure_matmul_flops(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 1.0) -> float:
    """The device's dense matmul rate in FLOP/s: the denominator of MFU when none is configured.

    The best of several short trials, not their mean: on a shared machine a neighbour's burst
    would otherwise lower the peak and inflate every MFU figure of the run.
    """
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    per_trial = 10 if device.type == "cuda" else 2
    for _ in range(per_trial):  # warm-up: kernel choice, clocks, caches
        a @ b
    sync()
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == 0.0:
        start = time.perf_counter()
        for _ in range(per_trial):
            a @ b
        sync()
        best = max(best, 2.0 * n**3 * per_trial / (time.perf_counter() - start))
    return best


def loss_curve_png(records: list[dict], path: str) -> None:
    """Training loss (and eval loss where measured) against step, as a PNG."""
    train = [(r["step"], r["loss"]) for r in records if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in records if "eval_loss" in r]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        with open(path, "wb") as f:
            f.write(_plot_png(train, evals))
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(*zip(*train, strict=True), label="train", color="#1f77b4")
    if evals:
        ax.plot(*zip(*evals, strict=True), "s-", label="eval (held-out)", color="#d62728")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- the fallback plot -------------------------------------------------------------------------
_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 640, 400, 70, 20, 36, 40
_BLUE, _RED, _BLACK, _GRID = (31, 119, 180), (214, 39, 40), (0, 0, 0), (225, 225, 225)
_FONT = {  # 3x5 glyphs, rows top to bottom
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "e": "111101111100111", "a": "010101111101101", "i": "010000010010010", "l": "100100100100111",
    "n": "000110101101101", "o": "000111101101111", "p": "111101111100100", "r": "000110100100100",
    "s": "011100010001110", "t": "010111010010011", "v": "000101101101010", " ": "000000000000000",
}


class _Canvas:
    def __init__(self) -> None:
        self.pixels = bytearray(b"\xff" * (_W * _H * 3))

    def dot(self, x: int, y: int, color: tuple[int, int, int]) -> None:
        if 0 <= x < _W and 0 <= y < _H:
            i = (y * _W + x) * 3
            self.pixels[i:i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for k in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * k / steps), round(y0 + (y1 - y0) * k / steps), color)

    def text(self, x: int, y: int, s: str, color: tuple[int, int, int], scale: int = 2) -> None:
        for c, ch in enumerate(s):
            glyph = _FONT.get(ch, _FONT[" "])
            for k, bit in enumerate(glyph):
                if bit == "1":
                    for dx in range(scale):
                        for dy in range(scale):
                            self.dot(x + (c * 4 + k % 3) * scale + dx, y + (k // 3) * scale + dy, color)

    def png(self) -> bytes:
        rows = b"".join(b"\x00" + bytes(self.pixels[y * _W * 3:(y + 1) * _W * 3]) for y in range(_H))

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

        header = struct.pack(">IIBBBBB", _W, _H, 8, 2, 0, 0, 0)  # 8-bit RGB
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND",
                                                                                                              b"")


def _plot_png(train: list[tuple[int, float]], evals: list[tuple[int, float]]) -> bytes:
    canvas = _Canvas()
    points = train + evals
    if not points:
        return canvas.png()
    x_lo, x_hi = min(p[0] for p in points), max(max(p[0] for p in points), min(p[0] for p in points) + 1)
    y_lo, y_hi = min(p[1] for p in points), max(p[1] for p in points)
    pad = (y_hi - y_lo) * 0.05 or 0.5
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def xy(step: float, loss: float) -> tuple[int, int]:
        x = _LEFT + (step - x_lo) / (x_hi - x_lo) * (_W - _LEFT - _RIGHT)
        return round(x), round(_H - _BOTTOM - (loss - y_lo) / (y_hi - y_lo) * (_H - _TOP - _BOTTOM))

    for k in range(5):  # horizontal grid lines with their loss values
        value = y_lo + (y_hi - y_lo) * k / 4
        _, y = xy(x_lo, value)
        canvas.line(_LEFT, y, _W - _RIGHT, y, _GRID)
        canvas.text(4, y - 5, f"{value:.3f}"[:7], _BLACK)
    canvas.line(_LEFT, _TOP, _LEFT, _H - _BOTTOM, _BLACK)
    canvas.line(_LEFT, _H - _BOTTOM, _W - _RIGHT, _H - _BOTTOM, _BLACK)
    canvas.text(_LEFT, _H - _BOTTOM + 8, str(x_lo), _BLACK)
    canvas.text(_W - _RIGHT - 8 * len(str(x_hi)), _H - _BOTTOM + 8, str(x_hi), _BLACK)
    canvas.text(_W // 2 - 16, _H - _BOTTOM + 8, "step", _BLACK)
    canvas.text(_LEFT, 8, "loss", _BLACK)
    canvas.text(_LEFT + 60, 8, "train", _BLUE)
    canvas.text(_LEFT + 120, 8, "eval", _RED)
    for series, color in ((train, _BLUE), (evals, _RED)):
        pixels = [xy(*p) for p in series]
        for (x0, y0), (x1, y1) in zip(pixels, pixels[1:], strict=False):
            canvas.line(x0, y0, x1, y1, color)
        if series is evals:
            for x, y in pixels:
                canvas.line(x - 2, y, x + 2, y, color)
                canvas.line(x, y - 2, x, y + 2, color)
    return canvas.png()
