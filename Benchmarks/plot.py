#!/usr/bin/env python3
# ===----------------------------------------------------------------------=== #
# swift-iov-iter benchmarks: plots iter-compare's CSV as throughput against
# segment size.  SPDX-License-Identifier: Apache-2.0
# ===----------------------------------------------------------------------=== #
"""Turn `iter-compare --csv PATH` output into PNGs.

    swift run -c release --package-path Benchmarks iter-compare --csv /tmp/iter.csv
    python3 Benchmarks/plot.py /tmp/iter.csv Docs/benchmarks-throughput.png \
        [Docs/benchmarks-in-cache.png Docs/benchmarks-dram.png]

The first PNG has two panels, copy out (gather) and copy in (scatter): GB/s
against segment size on a log scale, one line per implementation, and the
single-threaded memcpy bandwidth as a dashed line (the limit). The optional
second and third are the segment-size sweep (`--only sweep`, 8 B to 64 KiB),
copy out in cache and in DRAM. Needs matplotlib (`pip install matplotlib`).
"""

import csv
import sys


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def series(rows, workload):
    """{implementation: [(segment_bytes, GB/s), ...]} for one workload."""
    out = {}
    for r in rows:
        if r["workload"] != workload or r["unit"] != "GB/s":
            continue
        out.setdefault(r["implementation"], []).append((int(r["segment_bytes"]), float(r["value"])))
    return {k: sorted(v) for k, v in out.items()}


def size_label(n):
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


STYLE = {
    "C memcpy loop": dict(color="black", marker="s", linewidth=2.2),
    "C inline-copy loop": dict(color="#868e96", marker="x", linewidth=2.0, linestyle="-."),
    "swift-iov-iter": dict(color="#d9480f", marker="o", linewidth=2.6),
    "DispatchData copyBytes": dict(color="#1c7ed6", marker="^"),
    "DispatchData enumerateBytes": dict(color="#74c0fc", marker="v"),
    "Data concatenation": dict(color="#2b8a3e", marker="D"),
    "NIO ByteBuffer ring": dict(color="#862e9c", marker="P"),
}


def sweep_plot(plt, rows, workload, title, target):
    """One panel: GB/s against segment size for one sweep workload."""
    lines = series(rows, workload)
    if not lines:
        print(f"no '{workload}' rows (run iter-compare with the sweep section)", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(9, 5.2))
    sizes = set()
    for name, points in lines.items():
        xs = [p[0] for p in points]
        sizes.update(xs)
        ax.plot(xs, [p[1] for p in points], label=name, **STYLE.get(name, {}))
    label = next((r["segments"] for r in rows if r["workload"] == workload), "")
    ax.set_xscale("log", base=2)
    ticks = sorted(sizes)
    ax.set_xticks(ticks)
    ax.set_xticklabels([size_label(t) for t in ticks], rotation=45)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("segment size")
    ax.set_ylabel("throughput (GB/s, higher is better)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    per_copy = label.split("(", 1)[-1].rstrip(")") if "(" in label else ""
    ax.set_title(f"{title} ({per_copy}, best of N)")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    print(f"wrote {target}")
    return True


def main(argv):
    if len(argv) not in (3, 5):
        print(__doc__, file=sys.stderr)
        return 64
    source, target = argv[1], argv[2]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot.py needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 1

    rows = load(source)
    limit = next((float(r["value"]) for r in rows if r["workload"] == "memcpy limit"), None)
    panels = [("copy out (gather)", "Copy out: segments → contiguous"),
              ("copy in (scatter)", "Copy in: contiguous → segments")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    sizes = set()
    for ax, (workload, title) in zip(axes, panels):
        for name, points in series(rows, workload).items():
            xs = [p[0] for p in points]
            sizes.update(xs)
            ax.plot(xs, [p[1] for p in points], label=name, **STYLE.get(name, {}))
        if limit is not None:
            ax.axhline(limit, color="gray", linestyle="--", linewidth=1.2,
                       label=f"memcpy limit ({limit:.1f} GB/s)")
        ax.set_xscale("log", base=2)
        ax.set_title(title)
        ax.set_xlabel("segment size")
        ax.grid(True, which="major", alpha=0.3)
    ticks = sorted(sizes)
    for ax in axes:
        ax.set_xticks(ticks)
        ax.set_xticklabels([size_label(t) for t in ticks])
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel("throughput (GB/s, higher is better)")
    # One legend for both panels, from the panel with the most lines.
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[1]))
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=9)
    total = next((r["segments"] for r in rows if r["workload"] == "memcpy limit"), "")
    fig.suptitle(f"swift-iov-iter vs C, Dispatch, Foundation, SwiftNIO ({total.replace('1 × ', '')} per copy, best of N)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(target, dpi=110)
    plt.close(fig)
    print(f"wrote {target}")
    if len(argv) == 5:
        ok = sweep_plot(plt, rows, "sweep: copy out, in cache",
                        "Copy out (segments → contiguous), in cache", argv[3])
        ok = sweep_plot(plt, rows, "sweep: copy out, DRAM",
                        "Copy out (segments → contiguous), in DRAM", argv[4]) and ok
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
