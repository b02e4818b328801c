#!/usr/bin/env bash
# Refresh the UI translations: extract every translatable string from syncassistant/ui/**/*.py
# into each syncassistant_<locale>.ts in this folder (pyside6-lupdate), then compile each .ts to
# the .qm the app loads (pyside6-lrelease). Translate new strings with pyside6-linguist (or any
# editor: fill <translation>, drop type="unfinished"), run this again and commit .ts and .qm.
#
#   syncassistant/ui/translations/update.sh            # refresh all .ts files, compile all
#   syncassistant/ui/translations/update.sh fr         # also start syncassistant_fr.ts
#
# Why not plain `pyside6-lupdate syncassistant/ui/*.py`: lupdate understands `self.tr("...")`
# (context: the enclosing class) but not our module-level helper `i18n.tr(context, text, n)` nor
# wrappers around it like transfers_window's `_ctx(text)`: it reads `tr("Summary", "Up to date")`
# as source text "Summary" with comment "Up to date", and skips `_ctx("File")` (and the glob
# would miss the settings pages in syncassistant/ui/pages/). So lupdate runs
# over a scratch copy of the sources in which those calls are rewritten, on the same lines, as
# `QCoreApplication.translate(context, text[, "", 1])` -- a form it extracts, numerus included
# (it takes the 4-argument form as numerus only when the count is a literal). File names and line
# numbers in the .ts still point at the real sources.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # .../syncassistant/ui/translations
ui=$(dirname "$here")                                # .../syncassistant/ui
root=$(cd "$ui/../.." && pwd)                        # the repository
bin=${PYSIDE6_BIN:-$root/.venv/bin}                  # where pyside6-lupdate/-lrelease live
python=${PYTHON:-$bin/python}

for tool in "$bin/pyside6-lupdate" "$bin/pyside6-lrelease" "$python"; do
    [[ -x $tool ]] || { echo "update.sh: $tool not found (run ./setup.sh, or set PYSIDE6_BIN)" >&2; exit 1; }
done

# New languages given on the command line get an empty .ts that lupdate fills below.
for lang in "$@"; do
    ts="$here/syncassistant_$lang.ts"
    [[ -e $ts ]] || printf '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n<TS version="2.1" language="%s"></TS>\n' \
        "$lang" >"$ts"
done

shopt -s nullglob
ts_files=("$here"/syncassistant_*.ts)
[[ ${#ts_files[@]} -gt 0 ]] || { echo "update.sh: no syncassistant_*.ts in $here (pass a language, e.g. de)" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The scratch copy keeps the layout (scratch/ui/... and scratch/ui/translations/), so the
# relative locations lupdate writes ("../tray.py") are the same as for the real tree.
"$python" - "$ui" "$scratch/ui" <<'PY'
"""Copy syncassistant/ui/**/*.py to a scratch folder, rewriting module-level tr() calls."""
import ast
import json
import pathlib
import sys

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])


def literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def is_module_tr(func):
    """`tr(...)` (imported from .i18n) or `i18n.tr(...)`; never `self.tr(...)`."""
    return ((isinstance(func, ast.Name) and func.id == "tr")
            or (isinstance(func, ast.Attribute) and func.attr == "tr"
                and isinstance(func.value, ast.Name) and func.value.id == "i18n"))


def wrappers(tree):
    """Module-level `def w(text, n=-1): return tr("Context", text[, n])`: {w: "Context"}."""
    found = {}
    for fn in tree.body:
        if (isinstance(fn, ast.FunctionDef) and fn.args.args and len(fn.body) == 1
                and isinstance(fn.body[0], ast.Return) and isinstance(fn.body[0].value, ast.Call)):
            call = fn.body[0].value
            if (is_module_tr(call.func) and len(call.args) >= 2 and literal(call.args[0]) is not None
                    and isinstance(call.args[1], ast.Name) and call.args[1].id == fn.args.args[0].arg):
                found[fn.name] = literal(call.args[0])
    return found


def quote(text):
    # a double-quoted literal lupdate reads back as `text` (json escapes are C/Python escapes)
    return json.dumps(text, ensure_ascii=False)


count = 0
for path in sorted(src.rglob("*.py")):
    rel = path.relative_to(src)
    if rel.parts[0] == "translations":
        continue
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    wrap = wrappers(tree)
    edits = []  # (start line, start col, end line, end col, replacement)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if is_module_tr(node.func) and len(node.args) >= 2:
            context, text, numerus = literal(node.args[0]), literal(node.args[1]), len(node.args) >= 3
        elif isinstance(node.func, ast.Name) and node.func.id in wrap and node.args:
            context, text, numerus = wrap[node.func.id], literal(node.args[0]), len(node.args) >= 2
        else:
            continue
        if context is None or text is None:
            # not literals (a wrapper's own body): nothing to extract, but lupdate would take
            # `tr("Context", text)` for source text "Context": hide the call from it
            if is_module_tr(node.func):
                f = node.func
                edits.append((f.lineno, f.col_offset, f.end_lineno, f.end_col_offset, "not_for_lupdate"))
            continue
        args = f"{quote(context)}, {quote(text)}" + (', "", 1' if numerus else "")
        newlines = "\n" * (node.end_lineno - node.lineno)  # keep every later line where it was
        edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                      f"QCoreApplication.translate({args}{newlines})"))
    lines = source.splitlines(keepends=True)
    for l1, c1, l2, c2, new in sorted(edits, reverse=True):  # from the end: offsets stay valid
        # ast columns are utf-8 byte offsets
        head = lines[l1 - 1].encode()[:c1].decode()
        tail = lines[l2 - 1].encode()[c2:].decode()
        lines[l1 - 1:l2] = (head + new + tail).splitlines(keepends=True)
    out = dst / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines), encoding="utf-8")
    count += len(edits)
print(f"update.sh: rewrote {count} module-level tr() calls for lupdate", file=sys.stderr)
PY

mkdir -p "$scratch/ui/translations"
cp "${ts_files[@]}" "$scratch/ui/translations/"
(
    cd "$scratch/ui/translations"
    mapfile -t sources < <(cd .. && find . -name '*.py' -not -path './translations/*' | sort | sed 's|^\./|../|')
    # -no-obsolete: strings gone from the sources leave the .ts (lupdate still carries a
    # translation over to a slightly changed string first, marked unfinished for review)
    "$bin/pyside6-lupdate" -no-obsolete -locations absolute "${sources[@]}" -ts ./syncassistant_*.ts
)
for ts in "${ts_files[@]}"; do
    cp "$scratch/ui/translations/$(basename "$ts")" "$ts"
    qm="${ts%.ts}.qm"
    if ! grep -q '<translation>' "$ts"; then
        # nothing finished yet: no .qm, since i18n.install only falls back to its English
        # plural forms ("1 file", not "1 file(s)") when no .qm loads for the locale
        rm -f "$qm"
        echo "update.sh: $(basename "$ts") has no finished translation yet: no .qm written"
        continue
    fi
    # -nounfinished: strings still marked unfinished stay out of the .qm, so Qt shows their
    # English source text (also a translation lupdate guessed for a changed string, until reviewed;
    # an untranslated numerus string then shows its raw "(s)": translate those first)
    "$bin/pyside6-lrelease" -nounfinished "$ts" -qm "$qm"
done
