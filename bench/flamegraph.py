#!/usr/bin/env python3
"""Flame graph of the Portico server under one benchmark load (see bench/README.md).

Starts the Release binary on a copy of a prepared SQLite file, gets a patient token through the
SMART flow, drives one scenario at full speed and samples the server with
`perf record --call-graph dwarf` meanwhile. The stacks are folded (one line per distinct stack,
the common C++ noise of template arguments and parameter lists taken out) and drawn as an SVG
flame graph: each box is a function, its width its share of the server's CPU samples, its
callers below it. Hovering a box shows the full name and the share.

  bench/flamegraph.py --db-template DB --scenario read-eob --out docs/flamegraphs/read-eob.svg
  bench/flamegraph.py --perf-script perf.txt --out graph.svg   # draw an existing `perf script`

DB is a SQLite file prepared like the bench's (bench.py --keep-db leaves one in OUT/db/).
Scenarios: the GET paths of bench.py (read-patient, read-eob, search-eob, search-obs) and
token-refresh (refresh chains, every call rotates its token). It prints the leaf functions with
the most samples and Portico's own functions by their share, as Markdown tables; --folded also
keeps the folded stacks.
"""

import argparse
import collections
import html
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

WIDTH = 1200
ROW = 16
FONT = 11


def simplify(name):
    """`ns::Type<Args>::f(int) const [clone .isra.0]` -> `ns::Type::f`: the frames stay readable."""
    name = re.sub(r"\s*\[clone [^\]]*\]", "", name)
    name = name.replace("[abi:cxx11]", "")
    name = re.sub(r"\+0x[0-9a-f]+$", "", name)
    out, depth = [], 0
    for ch in name:  # drop everything inside <...> and (...), nested
        if ch in "<(":
            depth += 1
        elif ch in ">)" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    s = "".join(out).strip()
    s = re.sub(r"\s+const$", "", s)
    s = re.sub(r"^\S+\s+(?=\S*::)", "", s)  # a leading return type
    return s or name


def fold(perf_script_text, keep_threads=None):
    """perf script output -> Counter of 'root;...;leaf' stacks."""
    stacks = collections.Counter()
    for block in perf_script_text.split("\n\n"):
        lines = [ln.strip() for ln in block.strip().split("\n") if ln.strip()]
        if len(lines) < 2:
            continue
        comm = lines[0].split()[0]
        if keep_threads and comm not in keep_threads:
            continue
        frames = []
        for ln in lines[1:]:
            parts = ln.split(" ", 1)
            if len(parts) < 2:
                continue
            sym = parts[1].rsplit(" (", 1)
            name = sym[0]
            if name in ("[unknown]", ""):
                dso = sym[1].rstrip(")") if len(sym) > 1 else "[unknown]"
                name = dso if dso.startswith("[") else "[" + os.path.basename(dso) + "]"
            frames.append(simplify(name))
        frames.reverse()  # perf lists the leaf first
        # Adjacent repeats (inlined frames of one function) add nothing to read.
        dedup = [f for i, f in enumerate(frames) if i == 0 or f != frames[i - 1]]
        stacks[";".join(dedup)] += 1
    return stacks


class Node:
    __slots__ = ("name", "total", "children")

    def __init__(self, name):
        self.name, self.total, self.children = name, 0, {}


def build_tree(stacks):
    root = Node("all")
    for stack, n in stacks.items():
        root.total += n
        node = root
        for f in stack.split(";"):
            node = node.children.setdefault(f, Node(f))
            node.total += n
    return root


def color(name):
    h = zlib.crc32(name.encode())
    if name.startswith("[") or "kernel" in name:
        return f"rgb({200 + h % 40},{90 + h % 60},{60 + h % 40})"
    if name.startswith("portico::"):
        return f"rgb({230 + h % 25},{140 + h % 80},{50 + h % 30})"
    if name.startswith("sqlite3"):
        return f"rgb({120 + h % 50},{170 + h % 50},{220 + h % 35})"
    return f"rgb({220 + h % 35},{180 + h % 60},{60 + h % 40})"


def render_svg(stacks, title):
    root = build_tree(stacks)
    total = max(1, root.total)
    depth = 0

    def measure(node, d):
        nonlocal depth
        depth = max(depth, d)
        for c in node.children.values():
            measure(c, d + 1)

    measure(root, 0)
    height = (depth + 1) * ROW + 60
    scale = (WIDTH - 20) / total
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="monospace" font-size="{FONT}">',
           f'<rect width="{WIDTH}" height="{height}" fill="#fdfdf6"/>',
           f'<text x="{WIDTH // 2}" y="20" text-anchor="middle" font-size="15">'
           f'{html.escape(title)}</text>',
           f'<text x="10" y="40">{total} samples; width = share of the server\'s CPU samples; '
           f'callers below, callees above</text>']

    def draw(node, x, d):
        w = node.total * scale
        if w < 0.3:
            return
        y = height - (d + 1) * ROW - 5
        pct = 100.0 * node.total / total
        label = html.escape(f"{node.name} ({pct:.1f}%, {node.total} samples)")
        out.append(f'<g><title>{label}</title><rect x="{x + 10:.1f}" y="{y}" width="{w:.1f}" '
                   f'height="{ROW - 1}" fill="{color(node.name)}" rx="2"/>')
        chars = int(w / (FONT * 0.62))
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            out.append(f'<text x="{x + 13:.1f}" y="{y + ROW - 4}">{html.escape(text)}</text>')
        out.append("</g>")
        cx = x
        for c in sorted(node.children.values(), key=lambda n: n.name):
            draw(c, cx, d + 1)
            cx += c.total * scale

    draw(root, 0.0, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


DISPATCH = ("portico::http::Server::", "portico::app::RunServe")  # every request passes these


def top_functions(stacks, n=15):
    """Two Markdown tables: the leaf functions with most samples, and Portico's own functions
    by the share of samples they are on the stack for (the request dispatch left out)."""
    self_c, total_c = collections.Counter(), collections.Counter()
    for stack, k in stacks.items():
        frames = stack.split(";")
        self_c[frames[-1]] += k
        for f in set(frames):
            total_c[f] += k
    all_samples = max(1, sum(stacks.values()))
    lines = ["| self | leaf function |", "|---|---|"]
    lines += [f"| {100 * k / all_samples:.1f}% | `{f}` |" for f, k in self_c.most_common(n)]
    own = [(f, k) for f, k in total_c.most_common()
           if f.startswith("portico::") and not f.startswith(DISPATCH)][:n]
    lines += ["", "| total | Portico function |", "|---|---|"]
    lines += [f"| {100 * k / all_samples:.1f}% | `{f}` |" for f, k in own]
    return "\n".join(lines)


def drive_load(a, server, token, workdir, stop_at):
    """Runs the scenario until stop_at (time.monotonic()); returns the requests made."""
    if a.scenario == "token-refresh":
        tokens = bench.refresh_tokens(server, 4)
        done = 0
        while time.monotonic() < stop_at:
            r = bench.drive_chains(server, tokens, 200)
            if r["non2xx"]:
                raise RuntimeError(f"{r['non2xx']} refreshes failed")
            done += r["requests"]
        return done
    path = dict(bench.READS)[a.scenario]
    script = bench.write_lua(os.path.join(workdir, "fg.lua"),
                             headers={"Authorization": "Bearer " + token})
    r = bench.run_wrk(server.root + path, 1, 32, max(1, int(stop_at - time.monotonic())), script)
    if r["non2xx"] or not r["requests"]:
        raise RuntimeError(f"{r['non2xx']} errors, {r['requests']} requests")
    return r["requests"]


def record(a):
    """Runs the load under perf; returns the `perf script` text and a title."""
    with tempfile.TemporaryDirectory(prefix="portico-fg-") as workdir:
        server, token = bench.start_on_copy(a.bin, a.db_template, workdir, "fg.db")
        try:
            data = os.path.join(workdir, "perf.data")
            warm_until = time.monotonic() + 1
            drive_load(a, server, token, workdir, warm_until)
            perf = subprocess.Popen(
                ["perf", "record", "-F", str(a.frequency), "--call-graph", "dwarf,16384",
                 "-p", str(server.pid), "-o", data],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            requests = drive_load(a, server, token, workdir, time.monotonic() + a.duration)
            perf.send_signal(signal.SIGINT)  # perf writes its file and exits
            perf.wait(timeout=120)
        finally:
            server.stop()
        text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym,dso"],
                              capture_output=True, text=True, check=True).stdout
    title = (f"portico serve, {a.scenario}: {requests} requests in {a.duration} s, "
             f"perf {a.frequency} Hz ({time.strftime('%Y-%m-%d %H:%M')})")
    return text, title


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db-template", help="prepared SQLite file (not modified)")
    ap.add_argument("--bin", default="build/release/src/portico")
    ap.add_argument("--scenario", default="read-eob",
                    choices=[name for name, _ in bench.READS] + ["token-refresh"])
    ap.add_argument("--duration", type=int, default=8, help="seconds sampled")
    ap.add_argument("--frequency", type=int, default=499, help="samples per second per thread")
    ap.add_argument("--perf-script", help="draw this `perf script` output instead of recording")
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", required=True, help="the SVG to write")
    ap.add_argument("--folded", help="also write the folded stacks here (one line per stack)")
    a = ap.parse_args()
    if a.perf_script:
        with open(a.perf_script) as f:
            text, title = f.read(), a.title or os.path.basename(a.perf_script)
    else:
        if not a.db_template:
            ap.error("--db-template is required unless --perf-script is given")
        text, title = record(a)
    stacks = fold(text)
    if not stacks:
        sys.exit("no samples: is perf allowed to sample the server (kernel.perf_event_paranoid)?")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(render_svg(stacks, a.title or title))
    if a.folded:
        with open(a.folded, "w") as f:
            for stack, n in sorted(stacks.items()):
                f.write(f"{stack} {n}\n")
    print(top_functions(stacks))
    bench.log(f"wrote {a.out} ({sum(stacks.values())} samples)")


if __name__ == "__main__":
    main()
