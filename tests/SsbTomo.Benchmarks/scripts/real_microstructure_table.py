"""Rows of README "On real microstructures": phantoms made with `ssbtomo phantom --labels` and their runs.

For each PHANTOM_DIR (with truth.json and stack/), reads PHANTOM_DIR/run/metrics.json (`ssbtomo run --carbon fibres`,
the default) and, if present, PHANTOM_DIR/runp/metrics.json (`--carbon particles`), and prints a markdown row: the
look (preset or family member, where its carbon grey lies from void to electrolyte, its blur), the truth's void,
carbon and contact loss, the errors in percentage points (void / carbon / electrolyte / NMC, then contact loss) of
each run, and the drift's RMS error from alignment.json after removing its mean (the frame is arbitrary up to a shift).
Fractions are over the whole phantom; `ssbtomo compare` measures them over the run's crop instead.

usage: real_microstructure_table.py PHANTOM_DIR [PHANTOM_DIR ...]
"""
import json
import math
import os
import sys


def errors(truth, metrics_path):
    if not os.path.exists(metrics_path):
        return None
    measured = json.load(open(metrics_path))
    fractions = [100 * (measured["phase_fractions"][k] - truth["phase_fractions"][k]) for k in ("void", "carbon", "lps", "nmc")]
    return fractions, 100 * (measured["contact_loss_fraction"] - truth["contact_loss_fraction"])


def drift_rms(truth, alignment_path):
    slices = json.load(open(alignment_path))["slices"]
    err = [(s["drift_px"][0] - truth["drift_px"][s["index"]][0], s["drift_px"][1] - truth["drift_px"][s["index"]][1]) for s in slices]
    my = sum(e[0] for e in err) / len(err)
    mx = sum(e[1] for e in err) / len(err)
    return math.sqrt(sum((e[0] - my) ** 2 + (e[1] - mx) ** 2 for e in err) / len(err))


def main():
    for phantom in sys.argv[1:]:
        truth = json.load(open(os.path.join(phantom, "truth.json")))
        look = truth["phantom_parameters"]["appearance"]
        name = f"family {truth['family_seed']}" if "family_seed" in truth else truth.get("preset", "?")
        carbon_share = (look["carbon_grey"] - look["void_grey"]) / (look["lps_grey"] - look["void_grey"])
        cells = []
        for run in ("run", "runp"):
            result = errors(truth, os.path.join(phantom, run, "metrics.json"))
            cells.append(" | " if result is None else
                         " / ".join(f"{e:+.2f}" for e in result[0]) + f" | {result[1]:+.2f}")
        t = truth["phase_fractions"]
        print(f"| {os.path.basename(phantom.rstrip('/'))} | {name} ({carbon_share:.2f}, {look['blur_sigma_px']:.2f} px) | "
              f"{100 * t['void']:.2f} / {100 * t['carbon']:.2f} / {100 * truth['contact_loss_fraction']:.2f} | "
              f"{cells[0]} | {cells[1]} | {drift_rms(truth, os.path.join(phantom, 'run', 'alignment.json')):.2f} |")


if __name__ == "__main__":
    main()
