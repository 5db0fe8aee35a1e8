"""results.json -> ``benchmarks/RESULTS.md``: every figure a ratio against a baseline from the same run.

``build_figures(sections)`` turns the raw measurements into rows (ours, baseline, ratio, target, met);
``render_markdown(results)`` writes the table with the absolute numbers beside each ratio and the machine.
Run ``python -m benchmarks.report [results.json] [RESULTS.md]`` to re-render without re-measuring.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import ratio

HERE = Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results.json"
DEFAULT_MARKDOWN = HERE / "RESULTS.md"
WHOLE_NIGHT_NOTE = (
    "PhysioEx feeds the whole night to the model as one sequence; ours scores non-overlapping L=21 windows, "
    "the context the model was trained with"
)


def _get(d: Any, *keys: Any) -> Any:
    for k in keys:
        if d is None:
            return None
        try:
            d = d[k]
        except (KeyError, IndexError, TypeError):
            return None
    return d


def _fig(
    group: str,
    name: str,
    ours: float | None,
    baseline_name: str,
    baseline: float | None,
    unit: str,
    *,
    higher_is_better: bool = True,
    target: float | None = None,
    target_text: str = "",
    note: str = "",
    min_ours: float | None = None,
) -> dict[str, Any]:
    """One row: ``ratio`` is always "how many times better ours is" (> 1 = ours better).

    ``met`` needs ``ratio >= target`` and, when given, ``ours >= min_ours`` (an absolute target).
    """
    r = ratio(ours, baseline) if higher_is_better else ratio(baseline, ours)
    met = None if target is None or r is None else bool(r >= target)
    if met is not None and min_ours is not None:
        met = met and ours is not None and ours >= min_ours
    return {
        "group": group,
        "name": name,
        "ours": ours,
        "baseline_name": baseline_name,
        "baseline": baseline,
        "unit": unit,
        "higher_is_better": higher_is_better,
        "ratio": r,
        "target": target,
        "target_text": target_text,
        "met": met,
        "note": note,
    }


def _rate(row: Any, count: str = "epochs", seconds: str = "seconds") -> float | None:
    """``row[count] / row[seconds]`` (epochs/s by default), None when the row or its time is missing."""
    if not row or not row.get(seconds):
        return None
    return row[count] / row[seconds]


def build_figures(s: dict[str, Any]) -> list[dict[str, Any]]:
    """All comparison rows from the ``sections`` of results.json (missing sections are skipped)."""
    figs: list[dict[str, Any]] = []
    add = figs.append
    pre = s.get("preprocess") or {}
    ours_pre = pre.get("physioex")
    if ours_pre:
        add(
            _fig(
                "preprocess",
                "preprocess vs MNE path (read_raw_edf + Epochs + numpy.save)",
                _rate(ours_pre),
                "MNE path",
                _rate(pre.get("mne")),
                "epochs/s",
                target=5.0,
                target_text=">= 5x faster",
            )
        )
        floor_rate = _rate(pre.get("floor"))
        add(
            _fig(
                "preprocess",
                "preprocess vs decode floor (pyedflib read only)",
                _rate(ours_pre),
                "decode floor",
                floor_rate,
                "epochs/s",
                target=1 / 1.5,
                target_text="within 1.5x of the floor (ratio >= 0.67)",
            )
        )
        add(
            _fig(
                "preprocess",
                "preprocess --jobs 2 vs --jobs 1",
                _rate(pre.get("physioex_jobs2")),
                "--jobs 1",
                _rate(ours_pre),
                "epochs/s",
            )
        )
        f32 = ours_pre["epochs"] * 3000 * 4 if ours_pre.get("epochs") else None
        size_rows: list[tuple[str, str, Any, dict[str, Any]]] = [
            (
                "Zarr store size vs float32 arrays",
                "float32 (epochs x 3000 x 4 B)",
                f32,
                {"target": 2.0, "target_text": "store <= half of float32 (ratio >= 2)"},
            ),
            ("Zarr store size vs MNE path's .npy files", "MNE .npy", _get(pre, "mne", "bytes"), {}),
        ]
        for name, baseline_name, baseline_bytes, extra in size_rows:
            ours_mb = ours_pre.get("bytes", 0) / 1e6 or None
            baseline_mb = baseline_bytes / 1e6 if baseline_bytes else None
            add(
                _fig(
                    "preprocess",
                    name,
                    ours_mb,
                    baseline_name,
                    baseline_mb,
                    "MB",
                    higher_is_better=False,
                    **extra,
                )
            )
    tr = s.get("train") or {}
    if tr.get("loader"):
        ld = tr["loader"]
        add(
            _fig(
                "train",
                "loader: 21-epoch sequences/s from the store vs in-memory arrays",
                ld["store_sequences_per_s"],
                "in-memory",
                ld["in_memory_sequences_per_s"],
                "sequences/s",
                target=0.5,
                target_text=">= 5,000/s and >= half the in-memory rate",
                min_ours=5000.0,
            )
        )
        add(
            _fig(
                "train",
                "loader: store vs DIY numpy memmap loader",
                ld["store_sequences_per_s"],
                "numpy memmap",
                ld["memmap_sequences_per_s"],
                "sequences/s",
            )
        )
    if tr.get("training"):
        t = tr["training"]
        add(
            _fig(
                "train",
                f"training ({t['model']}) fed from the store vs from memory",
                t["store_sequences_per_s"],
                "memory-fed",
                t["in_memory_sequences_per_s"],
                "sequences/s",
                target=0.9,
                target_text="within 10% (ratio >= 0.9)",
            )
        )
    if tr.get("inference"):
        i = tr["inference"]
        add(
            _fig(
                "inference",
                f"whole night ({i['night_epochs']} epochs, {i['model']}) vs batch-1 one epoch at a time",
                i["whole_night_epochs_per_s"],
                "batch-1 sliding",
                i["batch1_sliding_epochs_per_s"],
                "epochs/s",
                target=20.0,
                target_text=">= 20x",
            )
        )
    ex = s.get("explain") or {}
    if ex.get("ig_batched_epochs_per_s"):
        add(
            _fig(
                "explain",
                f"Integrated Gradients batched vs per-epoch Captum loop (n_steps {ex['n_steps']})",
                ex["ig_batched_epochs_per_s"],
                "per-epoch Captum loop",
                ex["ig_per_epoch_loop_epochs_per_s"],
                "epochs/s",
                target=10.0,
                target_text=">= 10x",
            )
        )
        add(
            _fig(
                "explain",
                f"band importance ({ex['band_epochs']} epochs): FFT masking vs 63 filtered copies",
                ex["band_fft_seconds"],
                "63 combinations",
                ex["band_63_copies_seconds"],
                "s",
                higher_is_better=False,
                target=20.0,
                target_text=">= 20x",
            )
        )
    pe = s.get("peers") or {}
    ours, px, bd = pe.get("ours_e2e") or {}, pe.get("physioex") or {}, pe.get("braindecode") or {}
    if ours.get("end_to_end_seconds") and px.get("end_to_end_seconds"):
        add(
            _fig(
                "peers",
                "raw EDF -> one training pass of TinySleepNet -> test metrics, vs PhysioEx 2.0.4",
                ours["end_to_end_seconds"],
                "PhysioEx 2.0.4",
                px["end_to_end_seconds"],
                "s",
                higher_is_better=False,
                note="one run each; PhysioEx's pass = every epoch as a window start (stride 1), "
                "ours = non-overlapping windows with a random start",
            )
        )
    for mine in ours.get("inference") or []:
        theirs = next((n for n in px.get("inference") or [] if n.get("night") == mine["night"]), None)
        if theirs:
            where = f"{mine['night']} night (ours {mine['epochs']} epochs, PhysioEx {theirs['epochs']})"
            for label, o_key, t_key, t_name in (
                ("defaults: ours fp32 vs PhysioEx bf16 autocast", "fp32", "bf16", "PhysioEx bf16"),
                ("both fp32", "fp32", "fp32", "PhysioEx fp32"),
                ("both bf16 autocast", "bf16", "bf16", "PhysioEx bf16"),
            ):
                add(
                    _fig(
                        "peers",
                        f"whole-night inference, {where}: {label}",
                        mine[f"{o_key}_epochs_per_s"],
                        t_name,
                        theirs[f"{t_key}_epochs_per_s"],
                        "epochs/s",
                        note=WHOLE_NIGHT_NOTE if label.startswith("defaults") else "",
                    )
                )
        add(
            _fig(
                "inference",
                f"trained TinySleepNet, {mine['night']} night ({mine['epochs']} epochs): "
                "whole night (fp32) vs batch-1 one epoch at a time",
                mine["fp32_epochs_per_s"],
                "batch-1 sliding",
                mine["batch1_sliding_epochs_per_s"],
                "epochs/s",
                target=20.0,
                target_text=">= 20x",
            )
        )
    if ours.get("train_sequences_per_pass") and _get(px, "train", "train_sequences_per_pass"):
        add(
            _fig(
                "peers",
                "training throughput in the end-to-end run (TinySleepNet, incl. validation), vs PhysioEx",
                ours["train_sequences_per_pass"] / ours["train_seconds"],
                "PhysioEx 2.0.4",
                px["train"]["train_sequences_per_pass"] / px["train"]["train_seconds"],
                "sequences/s",
                note=f"ours {ours['train_sequences_per_pass']} sequences per pass, "
                f"PhysioEx {px['train']['train_sequences_per_pass']}; PhysioEx validates 10 times per pass",
            )
        )
    w, bw = pe.get("ours_windowing") or {}, _get(bd, "windowing") or {}
    oc, bt = pe.get("ours_chambon_step") or {}, _get(bd, "train_step") or {}
    braindecode_rows = [
        (
            "our preprocess vs braindecode 1.8.1 SleepPhysionet-style windowing (preload)",
            _rate(w),
            _rate(bw, "windows"),
            "",
        ),
        (
            f"Chambon2018 training step ({oc.get('epochs_per_step')} epochs) "
            "vs braindecode SleepStagerChambon2018",
            _rate(oc, "epochs_per_step", "seconds_per_step"),
            _rate(bt, "epochs_per_step", "seconds_per_step"),
            "ours adds the sequence encoder (LSTM over L=21) on top of the same epoch encoder",
        ),
    ]
    for name, ours_rate, braindecode_rate, note in braindecode_rows:
        if ours_rate is not None and braindecode_rate is not None:
            add(_fig("peers", name, ours_rate, "braindecode", braindecode_rate, "epochs/s", note=note))
    sc = s.get("scaling") or {}
    pre_rows = {(p["recordings"], p["jobs"]): p for p in sc.get("preprocess") or []}
    if pre_rows:
        counts = sorted({n for n, _ in pre_rows})
        lo, hi = pre_rows[(counts[0], 1)], pre_rows[(counts[-1], 1)]
        add(
            _fig(
                "scaling",
                f"preprocess peak RSS, {counts[-1]} vs {counts[0]} recording(s)",
                hi["peak_rss_mb"],
                f"{counts[0]} recording(s)",
                lo["peak_rss_mb"],
                "MB",
                higher_is_better=False,
                target=0.8,
                target_text="flat (ratio close to 1)",
            )
        )
        add(
            _fig(
                "scaling",
                f"store size vs raw EDF files ({counts[-1]} recordings, all PSG channels)",
                hi["store_bytes"] / 1e6,
                "raw EDF",
                hi["raw_edf_bytes"] / 1e6,
                "MB",
                higher_is_better=False,
                note="the store keeps one channel and the cropped night",
            )
        )
        if (counts[-1], 2) in pre_rows:
            j2 = pre_rows[(counts[-1], 2)]
            add(
                _fig(
                    "scaling",
                    f"preprocess wall time --jobs 2 vs --jobs 1 ({counts[-1]} recordings)",
                    j2["seconds"],
                    "--jobs 1",
                    hi["seconds"],
                    "s",
                    higher_is_better=False,
                )
            )
    tr_rows = sc.get("train") or []
    if len(tr_rows) >= 2:
        add(
            _fig(
                "scaling",
                f"training peak RSS, {tr_rows[-1]['recordings']} vs {tr_rows[0]['recordings']} recording(s)",
                tr_rows[-1]["peak_rss_mb"],
                f"{tr_rows[0]['recordings']} recording(s)",
                tr_rows[0]["peak_rss_mb"],
                "MB",
                higher_is_better=False,
                note=f"at most {tr_rows[-1]['cache_recordings']} whole recordings cached per process",
            )
        )
    return figs


def _num(v: Any) -> str:
    if v is None:
        return "-"
    v = float(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _verdict(f: dict[str, Any]) -> str:
    if f["met"] is None:
        return f["target_text"] or ""
    return f"{'met' if f['met'] else 'MISSED'} ({f['target_text']})"


def _scaling_table(sc: dict[str, Any]) -> list[str]:
    lines = [
        "| work | recordings | jobs | wall s (median) | peak RSS MB | epochs | store MB | raw EDF MB "
        "| float32 MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in sc.get("preprocess") or []:
        lines.append(
            f"| preprocess | {p['recordings']} | {p['jobs']} | {_num(p['seconds'])} | "
            f"{_num(p['peak_rss_mb'])} | "
            f"{p['epochs']} | {_num(p['store_bytes'] / 1e6)} | {_num(p['raw_edf_bytes'] / 1e6)} | "
            f"{_num(p['float32_bytes'] / 1e6)} |"
        )
    for t in sc.get("train") or []:
        lines.append(
            f"| train 1 pass ({t['model']}) | {t['recordings']} | - | {_num(t['seconds'])} | "
            f"{_num(t['peak_rss_mb'])} | - | - | - | - |"
        )
    return lines


def _metrics_table(pe: dict[str, Any]) -> list[str]:
    ours, px = pe.get("ours_e2e") or {}, pe.get("physioex") or {}
    if not ours.get("test") and not px.get("test"):
        return []
    lines = [
        "| after one training pass (TinySleepNet) | train / valid / test nights | preprocess s | train s "
        "| test s "
        "| accuracy | macro F1 | kappa |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    if ours.get("test"):
        t = ours["test"]
        lines.append(
            f"| physioex (this project) | {ours['train_recordings']} / {ours['valid_recordings']} / "
            f"{ours['test_recordings']} | {_num(ours['preprocess_seconds'])} | "
            f"{_num(ours['train_seconds'])} | {_num(ours['test_seconds'])} | {_num(t['accuracy'])} | "
            f"{_num(t['f1_macro'])} | {_num(t['kappa'])} |"
        )
    if px.get("test"):
        t, tr = px["test"], px["train"]
        lines.append(
            f"| PhysioEx {px.get('version', '2.0.4')} | {tr['train_recordings']} / "
            f"{tr['valid_recordings']} / {tr['test_recordings']} | {_num(tr['dataset_seconds'])} "
            f"(lazy dataset build; EDF decoding happens during training) | {_num(tr['train_seconds'])} | "
            f"{_num(t['seconds'])} | {_num(t.get('accuracy'))} | {_num(t.get('f1_score'))} | "
            f"{_num(t.get('cohen_kappa'))} |"
        )
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    """The RESULTS.md text for a results.json dict."""
    m = results.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in (m.get("libraries") or {}).items())
    figs = results.get("figures") or build_figures(results.get("sections", {}))
    command = results.get("command", "python -m benchmarks run")
    quick = " (quick mode: tiny inputs, numbers not meaningful)" if results.get("quick") else ""
    out = [
        "# Benchmark results",
        "",
        f"Generated {results.get('generated', '?')} by `{command}` "
        f"in {_num(results.get('wall_seconds'))} s{quick}.",
        "",
        f"Machine: {m.get('cores')} cores ({m.get('usable_cores')} usable), {m.get('cpu_model')}, "
        f"{m.get('memory_gb')} GB RAM, {m.get('platform')}, Python {m.get('python')}. "
        f"Load average at start (1/5/15 min): {m.get('load_average_1_5_15min')}.",
        "",
        f"Libraries: {libs}.",
        "",
        "Every ratio compares two measurements taken in the same run on the same data; "
        "**ratio > 1 means ours is better** (faster, or smaller). Times are medians of the repeats "
        "given in results.json (`runs` lists every repeat).",
        "",
        "| group | comparison | ours | baseline | unit | ratio | target |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for f in figs:
        name = f["name"] + (f" ({f['note']})" if f.get("note") else "")
        out.append(
            f"| {f['group']} | {name} | {_num(f['ours'])} | {f['baseline_name']}: {_num(f['baseline'])} | "
            f"{f['unit']} | {_num(f['ratio'])}x | {_verdict(f)} |"
        )
    sections = results.get("sections", {})
    metrics = _metrics_table(sections.get("peers") or {})
    if metrics:
        out += ["", "## End to end against PhysioEx 2.0.4 (same raw EDF files)", "", *metrics]
    if sections.get("scaling"):
        out += [
            "",
            "## Memory and scaling",
            "",
            sections["scaling"].get("data", ""),
            "",
            *_scaling_table(sections["scaling"]),
        ]
    errors = {
        k: v.get("error") or v.get("skipped")
        for k, v in _flat_sections(sections)
        if v.get("error") or v.get("skipped")
    }
    if errors:
        out += ["", "## Not measured in this run", ""]
        out += [f"- {k}: {str(v).splitlines()[-1] if v else ''}" for k, v in errors.items()]
    notes = results.get("notes") or []
    if notes:
        out += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(out) + "\n"


def _flat_sections(sections: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    flat = []
    for name, sec in sections.items():
        if isinstance(sec, dict):
            flat.append((name, sec))
            flat += [(f"{name}.{k}", v) for k, v in sec.items() if isinstance(v, dict)]
    return flat


def write_report(results: dict[str, Any], path: Path = DEFAULT_MARKDOWN) -> Path:
    """Write RESULTS.md atomically (temp name, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_markdown(results))
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None, echo: Callable[[str], None] = print) -> None:
    """Re-render ``RESULTS.md`` from an existing results.json."""
    argv = list(sys.argv[1:] if argv is None else argv)
    src = Path(argv[0]) if argv else DEFAULT_RESULTS
    dest = Path(argv[1]) if len(argv) > 1 else src.with_name("RESULTS.md")
    results = json.loads(src.read_text())
    results["figures"] = build_figures(results.get("sections", {}))
    echo(str(write_report(results, dest)))


if __name__ == "__main__":
    main()
