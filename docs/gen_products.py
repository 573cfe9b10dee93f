"""Generate docs/reference/products.md from the registry, so the table cannot drift.

Run ``python docs/gen_products.py`` after changing the registry; ``tests/test_docs.py`` fails
when the committed file differs from what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from modisoft.products import all_products

OUT = Path(__file__).with_name("reference") / "products.md"


def render() -> str:
    lines = [
        "# Supported products",
        "",
        "Generated from the registry by `docs/gen_products.py`; do not edit by hand.",
        "Unpacking: `hdfeos` = (stored − offset) × scale, `cf` = stored × scale + offset,",
        "`divide` = stored / scale (files that store 10000 or 100). Kinds: `value` decodes to",
        "float32; `qa` and `class` keep their integer dtype.",
        "",
        "| product | collections | title | layers |",
        "|---|---|---|---|",
    ]
    by_name: dict[str, list] = {}
    for p in all_products():
        by_name.setdefault(p.name, []).append(p)
    for name, prods in by_name.items():
        colls = ", ".join(p.collection for p in prods)
        lines.append(f"| {name} | {colls} | {prods[-1].title} | {len(prods[-1].layers)} |")
    for name, prods in by_name.items():
        p = prods[-1]
        lines += ["", f"## {name} ({', '.join(q.collection for q in prods)})", "",
                  f"{p.title}. Grids: {', '.join(f'`{g}` ({k})' for g, k in p.grids.items())}.",
                  f"Source: {p.source}.", "",
                  "| layer | dtype | kind | unpacking | valid (stored) | fill | fill classes |"
                  " units |", "|---|---|---|---|---|---|---|---|"]
        for lyr in p.layers:
            s = lyr.scaling
            unpack = f"{s.convention} {s.scale:g}" + (f", {s.offset:g}" if s.offset else "") \
                if s else ""
            vr = f"{lyr.valid_range[0]}..{lyr.valid_range[1]}" if lyr.valid_range else ""
            fill = ", ".join(str(v) for v in lyr.fill_values)
            classes = ", ".join(f"{c.code} {c.name}" for c in lyr.fill_classes
                                if c.code not in lyr.fill_values)
            lines.append(f"| `{lyr.name}` | {lyr.dtype} | {lyr.kind} | {unpack} | {vr} | {fill} |"
                         f" {classes} | {lyr.units} |")
        notes = [f"`{lyr.name}` {attr}: {why}" for lyr in p.layers
                 for attr, why in lyr.deviations.items()]
        if notes:
            lines += ["", "Intentional differences from the file's attributes:", ""]
            lines += [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")
